package dev.pgupgrade.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A steady client of one database, as an app would be during an online upgrade: at a fixed rate, one
 * transaction each -- an INSERT into load_events (its id returned), and every third an UPDATE and a
 * DELETE of load_items -- remembering every id whose COMMIT the server acknowledged, and when. It
 * reconnects when its session is ended (the cutover's freeze does that) and stops for good once it
 * cannot get back in, or when closed.
 */
public final class WriteLoad implements AutoCloseable {
    private final ClusterSnapshot.Connector server;
    private final String database;
    private final long periodMillis;
    private final List<Long> acknowledged = Collections.synchronizedList(new ArrayList<>());
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread thread;
    private volatile long lastAcknowledgedAt;
    private volatile String stoppedBecause;

    /** Creates its tables (load_events, load_items with 1000 rows), then writes every {@code periodMillis}. */
    public WriteLoad(ClusterSnapshot.Connector server, String database, long periodMillis) throws SQLException {
        this.server = server;
        this.database = database;
        this.periodMillis = periodMillis;
        try (Connection c = server.connect(database); var s = c.createStatement()) {
            s.execute("create table load_events (id bigserial primary key, at timestamptz not null default now(), payload text)");
            s.execute("create table load_items (id int primary key, version int not null, note text)");
            s.execute("insert into load_items select g, 0, 'item ' || g from generate_series(1, 1000) g");
        }
        thread = new Thread(this::run, "write-load-" + database);
        thread.setDaemon(true);
    }

    public WriteLoad start() {
        thread.start();
        return this;
    }

    private void run() {
        long n = 0;
        while (!stop.get()) {
            try (Connection c = server.connect(database)) {
                c.setAutoCommit(false);
                try (PreparedStatement insert = c.prepareStatement("insert into load_events (payload) values (?) returning id");
                     PreparedStatement update = c.prepareStatement("update load_items set version = version + 1, note = ? where id = ?");
                     PreparedStatement delete = c.prepareStatement("delete from load_items where id = ?")) {
                    while (!stop.get()) {
                        n++;
                        insert.setString(1, "event " + n + " \u00e9 'quoted' | \n");
                        long id;
                        try (ResultSet rs = insert.executeQuery()) {
                            rs.next();
                            id = rs.getLong(1);
                        }
                        if (n % 3 == 0) {
                            update.setString(1, "touched by " + n);
                            update.setInt(2, (int) (n % 997) + 1);
                            update.executeUpdate();
                            delete.setInt(1, (int) (1000 - n / 3 % 1000));
                            delete.executeUpdate();
                        }
                        c.commit();  // returned: acknowledged
                        acknowledged.add(id);
                        lastAcknowledgedAt = System.nanoTime();
                        Thread.sleep(periodMillis);
                    }
                }
            } catch (SQLException e) {
                if (acknowledged.isEmpty()) {
                    stoppedBecause = e.getMessage();
                    return;
                }
                // ended by someone (the freeze): try to get back in; a refusal means the database is closed to us
                try {
                    Thread.sleep(50);
                    try (Connection probe = server.connect(database)) {
                        continue;
                    }
                } catch (SQLException refused) {
                    stoppedBecause = refused.getMessage();
                    return;
                } catch (InterruptedException interrupted) {
                    return;
                }
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The ids of every acknowledged INSERT so far. */
    public List<Long> acknowledged() {
        synchronized (acknowledged) {
            return List.copyOf(acknowledged);
        }
    }

    /** Whether the writer stopped by itself (the database no longer lets it in), and why. */
    public String stoppedBecause() {
        return stoppedBecause;
    }

    public boolean running() {
        return thread.isAlive();
    }

    public long lastAcknowledgedAt() {
        return lastAcknowledgedAt;
    }

    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        thread.join(10_000);
    }
}
