package dev.pgupgrade.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;

/**
 * The PersistentVolumeClaim the Dumping Job writes the dump to and the Restoring Job reads it from.
 * It needs room for the whole plain-SQL dump: about the size of the data, without indexes.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class WorkVolumeSpec {
    public static final String SIZE_PATTERN = "^[1-9][0-9]{0,5}(Mi|Gi|Ti)$";
    public static final String DEFAULT_SIZE = "10Gi";

    /** Capacity, e.g. "50Gi" (default 10Gi). */
    @JsonPropertyDescription("Capacity, e.g. \"50Gi\" (default 10Gi): room for the whole plain-SQL dump.")
    @Pattern(SIZE_PATTERN)
    private String size;

    /** StorageClass of the claim; unset means the cluster's default. */
    @Pattern("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    @JsonPropertyDescription("StorageClass of the claim; unset: the cluster's default.")
    private String storageClassName;

    public String getSize() { return size; }
    public void setSize(String size) { this.size = size; }
    public String getStorageClassName() { return storageClassName; }
    public void setStorageClassName(String storageClassName) { this.storageClassName = storageClassName; }
}
