package io.basalt.image.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.api.BuildResult;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.tree.Content;
import io.basalt.image.tree.FileTree;
import io.basalt.image.tree.TreeEntry;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class PipelinePartsTest {
  @Test
  void dpkgStatusListsInstalledPackagesSorted() {
    String status =
        "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\n\n"
            + "Package: removed\nStatus: deinstall ok config-files\nVersion: 1\n\n"
            + "Package: bash\nStatus: install ok installed\nPriority: required\nVersion: 5.2.15-2+b7\n";
    SortedMap<String, String> p = DpkgStatus.parse(status.getBytes(StandardCharsets.UTF_8));
    assertEquals(List.of("bash", "zlib1g"), List.copyOf(p.keySet()));
    assertEquals("5.2.15-2+b7", p.get("bash"));
    assertEquals("1:1.2.13", p.get("zlib1g"));
  }

  @Test
  void derivedEpochIsTheNewestCopyrightMtime() {
    FileTree.Builder b = FileTree.builder();
    b.putWithParents(
        TreeEntry.regular("/usr/share/doc/a/copyright", Content.ofBytes(new byte[1]))
            .withMtime(100));
    b.putWithParents(
        TreeEntry.regular("/usr/share/doc/b/copyright", Content.ofBytes(new byte[1]))
            .withMtime(300));
    b.putWithParents(
        TreeEntry.regular("/usr/share/doc/b/changelog", Content.ofBytes(new byte[1]))
            .withMtime(900));
    b.putWithParents(
        TreeEntry.regular("/etc/generated", Content.ofBytes(new byte[1])).withMtime(5000));
    assertEquals(300, BuildPipeline.derivedEpoch(b.build()).getAsLong());
    assertFalse(BuildPipeline.derivedEpoch(FileTree.builder().build()).isPresent());
  }

  @Test
  void manifestIsDeterministicAndComplete() {
    ImageSpec spec = ImageSpec.loadDefault();
    Writers.Verity2 v = new Writers.Verity2("ab".repeat(32), 4096, 8192);
    TreeMap<String, String> pk = new TreeMap<>();
    pk.put("systemd", "252.38-1~deb12u1");
    List<BuildResult.Artifact> arts =
        List.of(
            new BuildResult.Artifact("disk.raw", 10, "00"),
            new BuildResult.Artifact("usr.img", 8192, "11"));
    io.basalt.image.usr.UsrAssembler.Report usr =
        new io.basalt.image.usr.UsrAssembler.Report(
            "13.2", "/usr/lib/jvm/java-25-openjdk-amd64", "25.0.1", 10, 5, List.of(), List.of());
    String a =
        Manifests.manifest(spec, 1700000000L, "0123456789ab", v, pk, arts, "6.12.57-amd64", usr);
    String b =
        Manifests.manifest(spec, 1700000000L, "0123456789ab", v, pk, arts, "6.12.57-amd64", usr);
    assertEquals(a, b);
    assertTrue(a.contains("\"debianSuite\" : \"trixie\""), a);
    assertTrue(a.contains("\"debianRelease\" : \"13.2\""), a);
    assertTrue(a.contains("\"java\" : {\n    \"version\" : \"25.0.1\""), a);
    assertTrue(a.contains("\"rootHash\" : \"" + "ab".repeat(32) + "\""), a);
    assertTrue(a.contains("\"systemd\" : \"252.38-1~deb12u1\""), a);
    assertTrue(a.indexOf("disk.raw") < a.indexOf("usr.img"), a);
    String p = Manifests.payload(spec, v, arts);
    assertTrue(p.contains("\"usrHashOffset\" : 4096"), p);
    assertTrue(p.contains("\"channel\" : \"stable\""), p);
  }

  @Test
  void humanSizes() {
    assertEquals("512 B", BuildPipeline.human(512));
    assertEquals("1.5 KiB", BuildPipeline.human(1536));
    assertEquals("1.0 GiB", BuildPipeline.human(1L << 30));
  }
}
