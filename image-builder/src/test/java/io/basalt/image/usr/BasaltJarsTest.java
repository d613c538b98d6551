package io.basalt.image.usr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.tree.Content;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedMap;
import java.util.jar.JarOutputStream;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BasaltJarsTest {
  @TempDir Path dir;

  private Path jar(String g, String a, String v, String... deps) throws IOException {
    Path p = dir.resolve(a + "-" + v + ".jar");
    StringBuilder pom =
        new StringBuilder(
            "<project><artifactId>"
                + a
                + "</artifactId>"
                + "<dependencyManagement><dependencies><dependency><artifactId>managed-only</artifactId></dependency></dependencies></dependencyManagement>"
                + "<dependencies>");
    for (String d : deps) {
      String[] f = d.split(":");
      pom.append("<dependency><groupId>x</groupId><artifactId>")
          .append(f[0])
          .append("</artifactId>");
      if (f.length > 1) {
        pom.append(
            f[1].equals("optional") ? "<optional>true</optional>" : "<scope>" + f[1] + "</scope>");
      }
      pom.append("</dependency>");
    }
    pom.append("</dependencies></project>");
    try (OutputStream os = Files.newOutputStream(p);
        JarOutputStream jos = new JarOutputStream(os)) {
      jos.putNextEntry(new ZipEntry("META-INF/maven/" + g + "/" + a + "/pom.properties"));
      jos.write(
          ("groupId=" + g + "\nartifactId=" + a + "\nversion=" + v + "\n")
              .getBytes(StandardCharsets.UTF_8));
      jos.putNextEntry(new ZipEntry("META-INF/maven/" + g + "/" + a + "/pom.xml"));
      jos.write(pom.toString().getBytes(StandardCharsets.UTF_8));
    }
    return p;
  }

  @Test
  void installsAgentAsBasaltctlAndTheRuntimeClosure() throws Exception {
    List<Path> cp =
        List.of(
            jar("io.basalt", "basalt-image-builder", "1", "basalt-update-agent", "zstd-jni"),
            jar(
                "io.basalt",
                "basalt-update-agent",
                "1",
                "basalt-signing",
                "picocli",
                "junit:test",
                "slf4j:optional"),
            jar("io.basalt", "basalt-signing", "1", "bcprov"),
            jar("io.basalt", "basalt-cloud-config", "1", "jackson-databind", "picocli"),
            jar("g", "jackson-databind", "2", "jackson-core"),
            jar("g", "jackson-core", "2"),
            jar("g", "picocli", "4"),
            jar("g", "bcprov", "1.79"),
            jar("g", "zstd-jni", "1"),
            jar("g", "junit", "5"),
            jar("g", "slf4j", "2"),
            jar("g", "managed-only", "1"));
    SortedMap<String, Content> m = BasaltJars.resolve(cp);
    assertEquals(
        List.of(
            "basaltctl.jar",
            "lib/basalt-cloud-config-1.jar",
            "lib/basalt-signing-1.jar",
            "lib/bcprov-1.79.jar",
            "lib/jackson-core-2.jar",
            "lib/jackson-databind-2.jar",
            "lib/picocli-4.jar"),
        List.copyOf(m.keySet()));
  }

  @Test
  void missingAgentIsAnError() throws Exception {
    List<Path> cp = List.of(jar("io.basalt", "basalt-cloud-config", "1"));
    IOException e = assertThrows(IOException.class, () -> BasaltJars.resolve(cp));
    assertTrue(
        e.getMessage().startsWith("basalt-update-agent is not on the basalt CLI's classpath"),
        e.getMessage());
  }

  @Test
  void classPathEntriesMayBeRelativeOrFileUrls() {
    Path jar = Path.of("/work/x/target/basalt.jar");
    assertEquals(
        Path.of("/work/x/target/lib/picocli-4.7.6.jar"),
        BasaltJars.resolveClassPathEntry(jar, "lib/picocli-4.7.6.jar"));
    assertEquals(
        Path.of("/root/.m2/a b/c.jar"),
        BasaltJars.resolveClassPathEntry(jar, "file:/root/.m2/a%20b/c.jar"));
    assertEquals(Path.of("/work/y/c.jar"), BasaltJars.resolveClassPathEntry(jar, "../../y/c.jar"));
  }

  @Test
  void manifestClassPathWinsAndJarsWithoutMavenMetadataAreFoundByName() throws Exception {
    Path agent = dir.resolve("basaltctl.jar");
    java.util.jar.Manifest mf = new java.util.jar.Manifest();
    mf.getMainAttributes().put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
    mf.getMainAttributes()
        .put(
            java.util.jar.Attributes.Name.CLASS_PATH,
            "lib/basalt-signing-1.jar lib/plain-lib-2.0.jar");
    try (OutputStream os = Files.newOutputStream(agent);
        JarOutputStream jos = new JarOutputStream(os, mf)) {
      jos.putNextEntry(new ZipEntry("META-INF/maven/io.basalt/basalt-update-agent/pom.properties"));
      jos.write(
          "groupId=io.basalt\nartifactId=basalt-update-agent\nversion=1\n"
              .getBytes(StandardCharsets.UTF_8));
    }
    Path plain = dir.resolve("plain-lib-2.0.jar");
    try (OutputStream os = Files.newOutputStream(plain);
        JarOutputStream jos = new JarOutputStream(os)) {
      jos.putNextEntry(new ZipEntry("x/Y.class"));
    }
    List<Path> cp =
        List.of(
            agent,
            plain,
            jar("io.basalt", "basalt-signing", "1"),
            jar("io.basalt", "basalt-cloud-config", "1"),
            jar("g", "unrelated", "1"));
    assertEquals(
        List.of(
            "basaltctl.jar",
            "lib/basalt-cloud-config-1.jar",
            "lib/basalt-signing-1.jar",
            "lib/plain-lib-2.0.jar"),
        List.copyOf(BasaltJars.resolve(cp).keySet()));
  }

  @Test
  void theInstallJarHoldsTheInstallCommandAndIsTheSameEveryTime() throws IOException {
    Content a = BasaltJars.installerJar();
    Content b = BasaltJars.installerJar();
    byte[] x;
    byte[] y;
    try (java.io.InputStream in = a.open()) {
      x = in.readAllBytes();
    }
    try (java.io.InputStream in = b.open()) {
      y = in.readAllBytes();
    }
    org.junit.jupiter.api.Assertions.assertArrayEquals(x, y);
    java.util.Set<String> names = new java.util.HashSet<>();
    try (java.util.zip.ZipInputStream zip =
        new java.util.zip.ZipInputStream(new java.io.ByteArrayInputStream(x))) {
      for (java.util.zip.ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
        names.add(e.getName());
      }
    }
    assertTrue(names.contains("io/basalt/image/cli/InstallMain.class"), names.toString());
    assertTrue(names.contains("io/basalt/image/pipeline/BasaltDisk.class"), names.toString());
  }
}
