package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;

/** One phase's step as it ran: the history {@code kubectl describe} shows. */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public class StepStatus {
    private String name;
    /** The Kubernetes Job that ran the step (operator only). */
    private String job;
    private Phase phase;
    private StepState state;
    private Integer attempt;
    private String startedAt;
    private String finishedAt;
    private Double durationSeconds;
    private String message;
    /** Bytes moved: the dump's size for Dumping and Restoring. */
    private Long bytes;
    /** Restore errors that were expected ("already exists" for what the target already had). */
    private Integer expectedErrors;
    /** Restore errors that were not expected: any of them fails the upgrade. */
    private Integer unexpectedErrors;
    /** Differences a verification found (Verifying, Cutover's inventory): 0 when the target matched. */
    private Integer mismatches;
    /** The first unexpected errors, as psql printed them (line number in the dump, message). */
    private List<String> errors = new ArrayList<>();
    /** What the step checked or did, one line per item (Verifying: one line per database). */
    private List<String> details = new ArrayList<>();

    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public String getJob() { return job; }
    public void setJob(String job) { this.job = job; }
    public Phase getPhase() { return phase; }
    public void setPhase(Phase phase) { this.phase = phase; }
    public StepState getState() { return state; }
    public void setState(StepState state) { this.state = state; }
    public Integer getAttempt() { return attempt; }
    public void setAttempt(Integer attempt) { this.attempt = attempt; }
    public String getStartedAt() { return startedAt; }
    public void setStartedAt(String startedAt) { this.startedAt = startedAt; }
    public String getFinishedAt() { return finishedAt; }
    public void setFinishedAt(String finishedAt) { this.finishedAt = finishedAt; }
    public Double getDurationSeconds() { return durationSeconds; }
    public void setDurationSeconds(Double durationSeconds) { this.durationSeconds = durationSeconds; }
    public String getMessage() { return message; }
    public void setMessage(String message) { this.message = message; }
    public Long getBytes() { return bytes; }
    public void setBytes(Long bytes) { this.bytes = bytes; }
    public Integer getExpectedErrors() { return expectedErrors; }
    public void setExpectedErrors(Integer expectedErrors) { this.expectedErrors = expectedErrors; }
    public Integer getUnexpectedErrors() { return unexpectedErrors; }
    public void setUnexpectedErrors(Integer unexpectedErrors) { this.unexpectedErrors = unexpectedErrors; }
    public Integer getMismatches() { return mismatches; }
    public void setMismatches(Integer mismatches) { this.mismatches = mismatches; }
    public List<String> getDetails() { return details; }
    public void setDetails(List<String> details) { this.details = details == null ? new ArrayList<>() : details; }
    public List<String> getErrors() { return errors; }
    public void setErrors(List<String> errors) { this.errors = errors == null ? new ArrayList<>() : errors; }
}
