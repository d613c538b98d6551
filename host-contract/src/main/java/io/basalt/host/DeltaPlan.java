package io.basalt.host;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What a machine must fetch to assemble a file from its chunk index, given the chunks it already
 * has (those of its running slot, cut with the index's chunker, and those of an earlier partial
 * download). The update agent and {@code basalt delta plan} both compute it here. Immutable,
 * thread-safe.
 *
 * @param totalBytes the target file's size
 * @param reuseBytes bytes of the target taken from chunks already present
 * @param fetchBytes bytes to download: each missing chunk once, however often it occurs
 * @param rebuildBytes bytes of the dm-verity hash area rebuilt from the data ({@link
 *     ChunkIndex.Verity}), neither fetched nor reused
 * @param missing the distinct missing chunks, in the order they first occur in the target
 */
public record DeltaPlan(
    long totalBytes,
    long reuseBytes,
    long fetchBytes,
    long rebuildBytes,
    List<ChunkIndex.Chunk> missing) {

  /** Copies the list. */
  public DeltaPlan {
    missing = List.copyOf(missing);
  }

  /**
   * Plans {@code target} against the chunks in {@code present} (sha256 values).
   *
   * @param present the sha256 of every chunk available without a download
   */
  public static DeltaPlan of(ChunkIndex target, Set<String> present) {
    return of(target, present, false);
  }

  /**
   * Plans {@code target} against the chunks in {@code present}; with {@code rebuildVerity} and an
   * index that describes its verity hash area, that area is rebuilt from the data instead of being
   * reused or fetched.
   *
   * @param present the sha256 of every chunk available without a download
   */
  public static DeltaPlan of(ChunkIndex target, Set<String> present, boolean rebuildVerity) {
    long reuse = 0;
    long fetch = 0;
    boolean rebuild = rebuildVerity && target.verity() != null;
    List<ChunkIndex.Chunk> chunks = rebuild ? target.dataChunks() : target.chunks();
    long rebuilt = rebuild ? target.size() - target.verity().hashOffset() : 0;
    Set<String> queued = new HashSet<>();
    List<ChunkIndex.Chunk> missing = new ArrayList<>();
    for (ChunkIndex.Chunk c : chunks) {
      if (present.contains(c.sha256())) {
        reuse += c.length();
      } else if (queued.add(c.sha256())) {
        fetch += c.length();
        missing.add(c);
      }
    }
    return new DeltaPlan(target.size(), reuse, fetch, rebuilt, missing);
  }

  /** The number of chunks to download. */
  public int fetchChunks() {
    return missing.size();
  }
}
