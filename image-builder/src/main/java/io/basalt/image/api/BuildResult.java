package io.basalt.image.api;

import java.nio.file.Path;
import java.util.List;

/**
 * What a successful build wrote: the output folder, every artifact with size and sha256, the usr
 * root hash and the per-stage wall times. Immutable, thread-safe.
 *
 * @param outDir the output folder
 * @param name image name
 * @param version image version
 * @param sourceDateEpoch the SOURCE_DATE_EPOCH every writer used
 * @param buildId os-release BUILD_ID
 * @param usrRootHash dm-verity root hash of usr.img
 * @param artifacts artifacts sorted by path
 * @param stages stage wall times in run order
 */
public record BuildResult(
    Path outDir,
    String name,
    String version,
    long sourceDateEpoch,
    String buildId,
    String usrRootHash,
    List<Artifact> artifacts,
    List<StageTime> stages) {

  public BuildResult {
    artifacts = List.copyOf(artifacts);
    stages = List.copyOf(stages);
  }

  /** One output file: path relative to the output folder, size, sha256 (hex). */
  public record Artifact(String path, long size, String sha256) {}

  /** Wall time of one stage. */
  public record StageTime(String stage, long nanos) {}
}
