package io.basalt.image.usr;

import io.basalt.image.tree.Content;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;

/**
 * Finds the jars Basalt installs on a host (the update agent as {@code basaltctl.jar},
 * cloud-config, and every library they need) among the jars the running {@code basalt} CLI was
 * started with. A jar's dependencies are read from the Maven {@code pom.xml} it carries and looked
 * up by artifactId among those jars (Maven already chose the versions when it built the CLI).
 * Stateless, thread-safe.
 */
final class BasaltJars {
  /** The update agent's artifactId; installed as basaltctl.jar. */
  static final String AGENT = "basalt-update-agent";

  /** cloud-config's artifactId; installed under lib/. */
  static final String CLOUD_CONFIG = "basalt-cloud-config";

  private static final Pattern DEPENDENCY =
      Pattern.compile("<dependency>(.*?)</dependency>", Pattern.DOTALL);

  private BasaltJars() {}

  /** One jar of the classpath, identified by its Maven coordinates. */
  record Jar(String groupId, String artifactId, String version, Path path) {
    String fileName() {
      return artifactId + "-" + version + ".jar";
    }
  }

  /**
   * The jars to install, keyed by path relative to /usr/lib/basalt, from the current JVM's
   * classpath.
   *
   * @throws IOException naming what is missing when the update agent or cloud-config is not on the
   *     classpath as a packaged jar (e.g. run from target/classes)
   */
  static SortedMap<String, Content> fromClasspath() throws IOException {
    TreeMap<String, Content> jars = new TreeMap<>(resolve(classpathJars()));
    jars.put(INSTALLER, installerJar());
    return jars;
  }

  /**
   * The image builder's own classes, for {@code /usr/bin/basalt install} on the host (the install
   * command, the disk writer and the formats it uses), without the libraries only a build needs:
   * the running jar, or when the builder runs from a class folder (its own tests) that folder as a
   * jar with fixed entry times.
   */
  static final String INSTALLER = "lib/basalt-install.jar";

  static Content installerJar() throws IOException {
    Path here;
    try {
      here =
          Paths.get(BasaltJars.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException | SecurityException | NullPointerException e) {
      throw new IOException("cannot locate the image builder's classes: " + e, e);
    }
    if (Files.isRegularFile(here)) {
      return Content.ofFile(here);
    }
    if (!Files.isDirectory(here)) {
      throw new IOException(here + ": the image builder's classes are neither a jar nor a folder");
    }
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    List<Path> files;
    try (java.util.stream.Stream<Path> s = Files.walk(here)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(bytes)) {
      for (Path f : files) {
        String name = here.relativize(f).toString().replace(File.separatorChar, '/');
        ZipEntry e = new ZipEntry(name);
        // the first DOS time, whatever the zone: no build time in the image
        e.setTimeLocal(java.time.LocalDateTime.of(1980, 1, 1, 0, 0));
        zip.putNextEntry(e);
        zip.write(Files.readAllBytes(f));
        zip.closeEntry();
      }
    }
    return Content.ofBytes(bytes.toByteArray());
  }

  /** The classpath's jar files: java.class.path plus the Class-Path of a {@code -jar} main jar. */
  static List<Path> classpathJars() throws IOException {
    List<Path> out = new ArrayList<>();
    for (String e : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
      if (e.isEmpty()) {
        continue;
      }
      Path p = Paths.get(e).toAbsolutePath();
      out.add(p);
      if (e.endsWith(".jar") && Files.isRegularFile(p)) {
        try (JarFile jf = new JarFile(p.toString())) {
          var mf = jf.getManifest();
          String cp =
              mf == null ? null : mf.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
          if (cp != null) {
            for (String rel : cp.trim().split("\\s+")) {
              out.add(resolveClassPathEntry(p, rel));
            }
          }
        }
      }
    }
    return out;
  }

  /**
   * A manifest Class-Path entry: a URL relative to the jar's folder (Maven's "lib/x.jar") or an
   * absolute file: URL (Surefire's manifest-only jar).
   */
  static Path resolveClassPathEntry(Path jar, String entry) {
    try {
      java.net.URI u = jar.toAbsolutePath().toUri().resolve(new java.net.URI(entry));
      if ("file".equals(u.getScheme())) {
        return Paths.get(u).normalize();
      }
    } catch (java.net.URISyntaxException | IllegalArgumentException e) {
      // fall through to a plain relative path
    }
    return jar.getParent().resolve(entry).normalize();
  }

  /**
   * Resolves the agent and cloud-config closures among {@code classpath}. A jar's dependencies are
   * its manifest Class-Path when it has one (Maven's own resolution), else the runtime dependencies
   * its embedded pom.xml declares. Jars without Maven metadata (e.g. built with Gradle) are
   * identified by their file name, artifactId-version.jar.
   */
  static SortedMap<String, Content> resolve(List<Path> classpath) throws IOException {
    Map<String, Jar> byArtifact = new LinkedHashMap<>();
    Map<String, Jar> byName = new LinkedHashMap<>();
    for (Path p : classpath) {
      if (!Files.isRegularFile(p) || !p.getFileName().toString().endsWith(".jar")) {
        continue;
      }
      Jar j = identify(p);
      if (j != null) {
        byArtifact.putIfAbsent(j.artifactId(), j);
        byName.putIfAbsent(j.fileName(), j);
      }
    }
    Jar agent = byArtifact.get(AGENT);
    Jar cloud = byArtifact.get(CLOUD_CONFIG);
    for (String needed : new String[] {AGENT, CLOUD_CONFIG}) {
      if (byArtifact.get(needed) == null || byArtifact.get(needed).groupId().isEmpty()) {
        throw new IOException(
            needed
                + " is not on the basalt CLI's classpath as a packaged jar "
                + "(build the CLI with `mvn package` or run ./basalt, which does)");
      }
    }
    TreeMap<String, Content> out = new TreeMap<>();
    out.put("basaltctl.jar", Content.ofFile(agent.path()));
    Deque<Jar> todo = new ArrayDeque<>();
    todo.add(agent);
    todo.add(cloud);
    java.util.Set<String> seen = new java.util.HashSet<>();
    while (!todo.isEmpty()) {
      Jar j = todo.removeFirst();
      if (!seen.add(j.fileName())) {
        continue;
      }
      if (j != agent) {
        out.put("lib/" + j.fileName(), Content.ofFile(j.path()));
      }
      List<String> manifestCp = manifestClassPath(j.path());
      if (manifestCp != null) {
        for (String entry : manifestCp) {
          String name = entry.substring(entry.lastIndexOf('/') + 1);
          Jar d = byName.get(name);
          if (d == null) {
            throw new IOException(
                j.path()
                    + ": its Class-Path names "
                    + entry
                    + ", which is not among the CLI's jars");
          }
          todo.add(d);
        }
      } else {
        for (String dep : dependencies(j)) {
          Jar d = byArtifact.get(dep);
          if (d != null) {
            todo.add(d);
          }
        }
      }
    }
    return out;
  }

  /** The jar's manifest Class-Path entries, or null when it has none. */
  static List<String> manifestClassPath(Path jar) throws IOException {
    try (JarFile jf = new JarFile(jar.toString())) {
      var mf = jf.getManifest();
      String cp = mf == null ? null : mf.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
      if (cp == null || cp.isBlank()) {
        return null;
      }
      return List.of(cp.trim().split("\\s+"));
    }
  }

  private static final Pattern FILE_NAME = Pattern.compile("(.+?)-(\\d[^/]*)\\.jar");

  /**
   * Maven coordinates from META-INF/maven/G/A/pom.properties; for a jar without them, artifactId
   * and version from its file name (groupId empty), or null if the name does not fit either.
   */
  static Jar identify(Path jar) throws IOException {
    Jar fromPom = identifyFromPom(jar);
    if (fromPom != null) {
      return fromPom;
    }
    Matcher m = FILE_NAME.matcher(jar.getFileName().toString());
    return m.matches() ? new Jar("", m.group(1), m.group(2), jar) : null;
  }

  private static Jar identifyFromPom(Path jar) throws IOException {
    try (JarFile jf = new JarFile(jar.toString())) {
      var entries = jf.entries();
      while (entries.hasMoreElements()) {
        ZipEntry e = entries.nextElement();
        String n = e.getName();
        if (n.startsWith("META-INF/maven/") && n.endsWith("/pom.properties")) {
          Properties props = new Properties();
          try (InputStream in = jf.getInputStream(e)) {
            props.load(in);
          }
          String g = props.getProperty("groupId");
          String a = props.getProperty("artifactId");
          String v = props.getProperty("version");
          if (g != null && a != null && v != null) {
            return new Jar(g, a, v, jar);
          }
        }
      }
    }
    return null;
  }

  /**
   * artifactIds of the runtime dependencies declared in the jar's own pom.xml (scope compile or
   * runtime, not optional).
   */
  static List<String> dependencies(Jar j) throws IOException {
    List<String> out = new ArrayList<>();
    try (JarFile jf = new JarFile(j.path().toString())) {
      ZipEntry pom =
          jf.getEntry("META-INF/maven/" + j.groupId() + "/" + j.artifactId() + "/pom.xml");
      if (pom == null) {
        return out;
      }
      String xml;
      try (InputStream in = jf.getInputStream(pom)) {
        xml = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      xml = xml.replaceAll("(?s)<!--.*?-->", "");
      // Only the project's own <dependencies>, not <dependencyManagement> or plugin dependencies.
      xml = xml.replaceAll("(?s)<dependencyManagement>.*?</dependencyManagement>", "");
      xml = xml.replaceAll("(?s)<build>.*?</build>", "");
      xml = xml.replaceAll("(?s)<profiles>.*?</profiles>", "");
      Matcher m = DEPENDENCY.matcher(xml);
      while (m.find()) {
        String d = m.group(1);
        String a = tag(d, "artifactId");
        String scope = tag(d, "scope");
        String optional = tag(d, "optional");
        if (a == null || "true".equals(optional)) {
          continue;
        }
        if (scope == null || scope.equals("compile") || scope.equals("runtime")) {
          out.add(a);
        }
      }
    }
    return out;
  }

  private static String tag(String xml, String name) {
    Matcher m =
        Pattern.compile("<" + name + ">\\s*(.*?)\\s*</" + name + ">", Pattern.DOTALL).matcher(xml);
    return m.find() ? m.group(1) : null;
  }
}
