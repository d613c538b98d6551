package io.basalt.image.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.basalt.image.api.DiskLayout;
import io.basalt.image.api.ImagePlan;
import io.basalt.image.pipeline.BuildPipeline;
import java.util.Locale;
import java.util.Optional;

/**
 * Renders an {@link ImagePlan} for {@code basalt build --plan}: aligned text for people, or JSON
 * (fixed key order) with {@code --json}. Stateless, thread-safe.
 */
final class PlanPrinter {
  private PlanPrinter() {}

  /**
   * The plan as JSON.
   *
   * @param cachedBase the cached base.tar, if the cache has it
   */
  static String json(ImagePlan p, Optional<String> cachedBase) {
    ObjectMapper m = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode n = m.createObjectNode();
    n.put("name", p.name());
    n.put("version", p.version());
    n.put("channel", p.channel());
    n.put("arch", p.arch());
    n.put("guidSeed", p.guidSeed());
    if (p.sourceDateEpoch().isPresent()) {
      n.put("sourceDateEpoch", p.sourceDateEpoch().getAsLong());
    } else {
      n.putNull("sourceDateEpoch");
    }
    ObjectNode base = n.putObject("base");
    base.put("suite", p.base().suite());
    base.put("variant", p.base().variant());
    base.put("mirror", p.base().mirror());
    base.put("cacheKey", p.base().cacheKey());
    base.put("cached", cachedBase.isPresent());
    ArrayNode pk = base.putArray("packages");
    p.base().packages().forEach(pk::add);
    ArrayNode trees = n.putArray("trees");
    for (ImagePlan.Tree t : p.trees()) {
      trees.addObject().put("name", t.name()).put("description", t.description());
    }
    if (p.disk().isPresent()) {
      DiskLayout d = p.disk().get();
      ObjectNode disk = n.putObject("disk");
      disk.put("diskGuid", d.diskGuid().toString());
      disk.put("sectorSize", d.sectorSize());
      disk.put("sizeBytes", d.sizeBytes());
      ArrayNode parts = disk.putArray("partitions");
      for (DiskLayout.Partition q : d.partitions()) {
        parts
            .addObject()
            .put("number", q.number())
            .put("label", q.label())
            .put("type", q.type().toString())
            .put("partuuid", q.partUuid().toString())
            .put("startLba", q.firstLba())
            .put("endLba", q.lastLba())
            .put("sizeBytes", q.sizeBytes())
            .put("content", q.content());
      }
    } else {
      n.putNull("disk");
    }
    n.put("usrSlotBytes", p.usrSlotBytes());
    ArrayNode arts = n.putArray("artifacts");
    for (ImagePlan.Artifact a : p.artifacts()) {
      arts.addObject().put("path", a.path()).put("description", a.description());
    }
    ArrayNode cl = n.putArray("commandLines");
    for (ImagePlan.CommandLine c : p.commandLines()) {
      cl.addObject().put("name", c.name()).put("template", c.template());
    }
    ArrayNode known = n.putArray("knownAtBuild");
    p.knownAtBuild().forEach(known::add);
    if (p.update().isPresent()) {
      ImagePlan.Update u = p.update().get();
      ObjectNode un = n.putObject("update");
      ObjectNode root = un.putObject("root");
      root.put("file", u.rootFile());
      root.put("path", u.rootPath());
      root.put("version", u.rootVersion());
      root.put("threshold", u.rootThreshold());
      ArrayNode ids = root.putArray("keyIds");
      u.rootKeyIds().forEach(ids::add);
      un.put("confPath", u.confPath());
      ObjectNode set = un.putObject("settings");
      u.settings().forEach(set::put);
    } else {
      n.putNull("update");
    }
    try {
      return m.writeValueAsString(n);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The plan as text.
   *
   * @param cachedBase the cached base.tar, if the cache has it
   */
  static String text(ImagePlan p, Optional<String> cachedBase) {
    StringBuilder s = new StringBuilder();
    String epoch =
        p.sourceDateEpoch().isPresent()
            ? Long.toString(p.sourceDateEpoch().getAsLong())
            : "derived from the base tree at build";
    String cache =
        cachedBase.map(c -> "cached, " + c).orElse("not cached; the build runs mmdebstrap");
    s.append(
        "Plan for "
            + p.name()
            + " "
            + p.version()
            + " ("
            + p.channel()
            + ", "
            + p.arch()
            + "); nothing is written.\n");
    s.append("SOURCE_DATE_EPOCH: " + epoch + "\n");
    s.append(
        "\nBase tree: Debian "
            + p.base().suite()
            + " ("
            + p.base().variant()
            + ") from "
            + p.base().mirror()
            + "\n");
    s.append("  packages: " + String.join(" ", p.base().packages()) + "\n");
    s.append("  cache key " + p.base().cacheKey() + ": " + cache + "\n");
    s.append("\nTrees:\n");
    for (ImagePlan.Tree t : p.trees()) {
      s.append(String.format(Locale.ROOT, "  %-17s %s%n", t.name(), t.description()));
    }
    if (p.disk().isPresent()) {
      DiskLayout d = p.disk().get();
      s.append(
          "\nDisk: GPT, "
              + d.sectorSize()
              + "-byte sectors, "
              + BuildPipeline.human(d.sizeBytes())
              + ", disk GUID "
              + d.diskGuid()
              + "\n");
      String row = "  %-2s %-10s %10s %10s %9s  %-36s  %-36s  %s%n";
      s.append(
          String.format(
              Locale.ROOT,
              row,
              "#",
              "label",
              "start LBA",
              "end LBA",
              "size",
              "type",
              "PARTUUID",
              "content"));
      for (DiskLayout.Partition q : d.partitions()) {
        s.append(
            String.format(
                Locale.ROOT,
                row,
                q.number(),
                q.label(),
                q.firstLba(),
                q.lastLba(),
                BuildPipeline.human(q.sizeBytes()),
                q.type(),
                q.partUuid(),
                q.content()));
      }
    } else {
      s.append("\nDisk: none (no disk.raw or disk.qcow2 in the spec's outputs)\n");
    }
    s.append("\nArtifacts:\n");
    for (ImagePlan.Artifact a : p.artifacts()) {
      s.append(String.format(Locale.ROOT, "  %-20s %s%n", a.path(), a.description()));
    }
    s.append("\nKernel command lines:\n");
    for (ImagePlan.CommandLine c : p.commandLines()) {
      s.append("  ").append(c.name()).append(": ").append(c.template()).append('\n');
    }
    s.append("\nUpdates:");
    if (p.update().isPresent()) {
      ImagePlan.Update u = p.update().get();
      s.append(
          "\n  trusted root: "
              + u.rootFile()
              + " (version "
              + u.rootVersion()
              + ", threshold "
              + u.rootThreshold()
              + " of "
              + u.rootKeyIds().size()
              + " root key(s)) -> "
              + u.rootPath()
              + "\n");
      s.append("  " + u.confPath() + " (image defaults; /etc/basalt/update.conf overrides):\n");
      u.settings().forEach((k, v) -> s.append("    ").append(k).append('=').append(v).append('\n'));
    } else {
      s.append(" no update: section (init-units' update.conf, no trusted root in the image)\n");
    }
    s.append("\nKnown only at build time:\n");
    for (String k : p.knownAtBuild()) {
      s.append("  - ").append(k).append('\n');
    }
    return s.toString();
  }
}
