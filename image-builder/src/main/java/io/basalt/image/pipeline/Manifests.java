package io.basalt.image.pipeline;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.host.UpdatePayload;
import io.basalt.image.api.BuildResult;
import io.basalt.image.spec.ImageSpec;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * Writes {@code manifest.json} and {@code update/payload.json}: fixed key order, sorted package and
 * artifact lists, no clock, no host paths, so they are as reproducible as the artifacts they
 * describe. Stateless, thread-safe.
 */
final class Manifests {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private Manifests() {}

  static String manifest(
      ImageSpec spec,
      long epoch,
      String buildId,
      Writers.Verity2 verity,
      SortedMap<String, String> packages,
      List<BuildResult.Artifact> artifacts,
      String kernelRelease,
      io.basalt.image.usr.UsrAssembler.Report usr) {
    ObjectNode n = JSON.createObjectNode();
    n.put("name", spec.name());
    n.put("version", spec.version());
    n.put("channel", spec.channel());
    n.put("arch", spec.arch());
    n.put("buildId", buildId);
    n.put("sourceDateEpoch", epoch);
    n.put("debianSuite", spec.debian().suite());
    n.put("debianRelease", usr.debianRelease());
    n.put("kernelRelease", kernelRelease);
    ObjectNode java = n.putObject("java");
    java.put("version", usr.javaVersion());
    java.put("home", usr.javaHome());
    ObjectNode u = n.putObject("usr");
    u.put("rootHash", verity.rootHash());
    u.put("hashOffset", verity.hashOffset());
    u.put("size", verity.totalSize());
    u.put("compressor", spec.compressor().key());
    ArrayNode arts = n.putArray("artifacts");
    for (BuildResult.Artifact a : artifacts) {
      arts.addObject().put("path", a.path()).put("size", a.size()).put("sha256", a.sha256());
    }
    ObjectNode pk = n.putObject("packages");
    for (Map.Entry<String, String> e : packages.entrySet()) {
      pk.put(e.getKey(), e.getValue());
    }
    return write(n);
  }

  static String payload(ImageSpec spec, Writers.Verity2 verity, List<BuildResult.Artifact> files) {
    return payload(
        new UpdatePayload(
            spec.name(),
            spec.version(),
            spec.channel(),
            spec.arch(),
            verity.rootHash(),
            verity.hashOffset(),
            files.stream()
                .map(a -> new UpdatePayload.FileEntry(a.path(), a.size(), a.sha256()))
                .toList()));
  }

  /** {@code update/payload.json} of {@code p}, with the contract's field names in their order. */
  static String payload(UpdatePayload p) {
    ObjectNode n = JSON.createObjectNode();
    n.put(UpdatePayload.JSON_NAME, p.name());
    n.put(UpdatePayload.JSON_VERSION, p.version());
    n.put(UpdatePayload.JSON_CHANNEL, p.channel());
    n.put(UpdatePayload.JSON_ARCH, p.arch());
    n.put(UpdatePayload.JSON_USR_ROOT_HASH, p.usrRootHash());
    n.put(UpdatePayload.JSON_USR_HASH_OFFSET, p.usrHashOffset());
    ObjectNode f = n.putObject(UpdatePayload.JSON_FILES);
    for (UpdatePayload.FileEntry e : p.files()) {
      f.putObject(e.path())
          .put(UpdatePayload.JSON_SIZE, e.size())
          .put(UpdatePayload.JSON_SHA256, e.sha256());
    }
    return write(n);
  }

  private static String write(ObjectNode n) {
    try {
      return JSON.writeValueAsString(n) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
