package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What the upgrade did to one service, recorded BEFORE it does it: the replicas are written here
 * before the service is scaled to zero, and never overwritten afterwards, so a restarted operator
 * scales back to what the service really had, not to the zero it set itself.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ServiceStatus {
    /** Deployment, StatefulSet, or AptibleService (one service of an Aptible app). */
    private String kind;
    /** The workload's name, or the Aptible service's name (its process type). */
    private String name;
    /** The Aptible app the service belongs to. */
    private String app;
    /** Replicas before ScalingDown: what ScalingUp and a rollback restore. */
    private Integer replicas;
    /** The Secret holding the app's previous URL value, for a rollback after Repointing (never the value itself). */
    private String backupSecret;

    public ServiceStatus() {
    }

    public ServiceStatus(String kind, String name, Integer replicas) {
        this.kind = kind;
        this.name = name;
        this.replicas = replicas;
    }

    public static final String APTIBLE_SERVICE = "AptibleService";

    public String getApp() { return app; }
    public void setApp(String app) { this.app = app; }
    public String getKind() { return kind; }
    public void setKind(String kind) { this.kind = kind; }
    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public Integer getReplicas() { return replicas; }
    public void setReplicas(Integer replicas) { this.replicas = replicas; }
    public String getBackupSecret() { return backupSecret; }
    public void setBackupSecret(String backupSecret) { this.backupSecret = backupSecret; }

    public boolean matches(ServiceSpec spec) {
        return kind != null && kind.equals(spec.getKind()) && name != null && name.equals(spec.getName());
    }
}
