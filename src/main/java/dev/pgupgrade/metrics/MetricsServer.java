package dev.pgupgrade.metrics;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;

/** {@code GET /metrics} for Prometheus, on its own port (the chart's Service and ServiceMonitor point at it). */
public final class MetricsServer implements AutoCloseable {
    private final HttpServer server;

    public MetricsServer(int port, OperatorMetrics metrics) throws IOException {
        server = HttpServer.create(new InetSocketAddress(port), 0);
        server.createContext("/metrics", exchange -> {
            try (exchange) {
                if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
                    exchange.sendResponseHeaders(405, -1);
                    return;
                }
                String accept = exchange.getRequestHeaders().getFirst("Accept");
                ByteArrayOutputStream body = new ByteArrayOutputStream();
                metrics.scrape(body, accept);
                exchange.getResponseHeaders().set("Content-Type", OperatorMetrics.contentType(accept));
                boolean head = "HEAD".equals(exchange.getRequestMethod());
                exchange.sendResponseHeaders(200, head ? -1 : body.size());
                if (!head) {
                    try (OutputStream out = exchange.getResponseBody()) {
                        body.writeTo(out);
                    }
                }
            }
        });
        server.setExecutor(null);
    }

    public MetricsServer start() {
        server.start();
        return this;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
