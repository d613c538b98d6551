package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.basalt.host.BootEntry;
import io.basalt.signing.tuf.repo.RepoServer;
import io.basalt.update.install.TestBootDisk;
import io.basalt.update.testing.TufFixture;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent against a TUF repository served over HTTP on 127.0.0.1 with the real clients ({@code
 * HttpFetcher}, {@code HttpRangeSource}) and the real {@code veritysetup}: a connection dropped
 * mid-download is resumed with a Range request; {@code basalt repo serve} (no ranges) works too.
 */
class HttpUpdateIT {

  @TempDir Path tmp;
  private HttpServer server;
  private final List<String> ranges = Collections.synchronizedList(new ArrayList<>());
  private final AtomicLong dropAfter = new AtomicLong(-1);

  @AfterEach
  void stop() {
    if (server != null) {
      server.stop(0);
    }
  }

  /**
   * Serves REPO/metadata and REPO/targets with Range support; can drop the next usr.img response.
   */
  private String serve(Path repo) throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
    server.createContext(
        "/",
        ex -> {
          try (ex) {
            handle(repo, ex);
          }
        });
    server.start();
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
  }

  private void handle(Path repo, HttpExchange ex) throws IOException {
    String p = ex.getRequestURI().getPath();
    Path f = repo.resolve(p.substring(1));
    if (!f.normalize().startsWith(repo) || !Files.isRegularFile(f)) {
      ex.sendResponseHeaders(404, -1);
      return;
    }
    byte[] all = Files.readAllBytes(f);
    String range = ex.getRequestHeaders().getFirst("Range");
    long start = 0;
    if (range != null) {
      Matcher m = Pattern.compile("bytes=(\\d+)-").matcher(range);
      if (m.matches()) {
        start = Long.parseLong(m.group(1));
      }
      if (p.endsWith("usr.img")) {
        ranges.add(range);
      }
    }
    byte[] body = Arrays.copyOfRange(all, (int) start, all.length);
    if (start > 0) {
      ex.getResponseHeaders()
          .add("Content-Range", "bytes " + start + "-" + (all.length - 1) + "/" + all.length);
    }
    ex.sendResponseHeaders(start > 0 ? 206 : 200, body.length);
    OutputStream os = ex.getResponseBody();
    long drop = p.endsWith("usr.img") ? dropAfter.getAndSet(-1) : -1;
    if (drop >= 0) {
      os.write(body, 0, (int) drop);
      os.flush();
      throw new IOException("dropping the connection (test)"); // the server closes it mid-body
    }
    os.write(body);
  }

  private UpdateAgent agent(Path root, List<String> events) throws Exception {
    return HttpAgents.started(root, events, true);
  }

  private Path root(String repoUrl, TufFixture tuf, long slotSize) throws Exception {
    Path root = tmp.resolve("root");
    Files.createDirectories(root.resolve("proc"));
    Files.writeString(root.resolve("proc/cmdline"), UpdateAgentTest.V1 + "\n");
    Files.createDirectories(root.resolve("usr/share/basalt"));
    Files.writeString(
        root.resolve("usr/share/basalt/update.conf"),
        "SERVER=" + repoUrl + "\nREBOOT_STRATEGY=reboot\n");
    Files.copy(tuf.clientDir.resolve("root.json"), root.resolve("usr/share/basalt/root.json"));
    Files.createDirectories(root.resolve("efi/loader/entries"));
    Files.writeString(
        root.resolve("efi/loader/entries/basalt-1.0.0-A.conf"),
        BootEntry.fresh("1.0.0", "A").text(UpdateAgentTest.V1));
    TestBootDisk.write(root);
    Files.createDirectories(root.resolve("dev"));
    Files.write(root.resolve("dev/vda3"), new byte[(int) slotSize]);
    return root;
  }

  @Test
  void droppedDownloadResumesOverHttpAndTheSlotVerifies() throws Exception {
    var im = io.basalt.update.install.VerityITAccess.image(tmp, "2.0.0");
    TufFixture tuf = new TufFixture(tmp.resolve("t"));
    tuf.addRelease(
        "stable",
        "x86-64",
        "2.0.0",
        im.bytes(),
        im.rootHash(),
        im.hashOffset(),
        "kernel".getBytes(StandardCharsets.UTF_8),
        "initramfs".getBytes(StandardCharsets.UTF_8));
    tuf.publish();
    Path root = root(serve(tuf.repoDir), tuf, im.bytes().length + 65536);
    List<String> events = new ArrayList<>();
    UpdateAgent a = agent(root, events);

    long cut = im.bytes().length / 3;
    dropAfter.set(cut);
    String m1 = a.runCycle(true, null, false);
    assertEquals("error", a.status().state(), m1);
    Path partial = root.resolve("var/lib/basalt/downloads/2.0.0/usr.img.partial");
    assertTrue(Files.exists(partial), "partial download kept");
    long have = Files.size(partial);
    assertTrue(have > 0 && have <= cut, "partial " + have + " of cut " + cut);
    assertEquals(List.of("basalt-1.0.0-A.conf"), entries(root));

    String m2 = a.runCycle(true, null, false);
    assertTrue(m2.startsWith("version 2.0.0 installed in slot B"), m2);
    assertEquals(List.of("bytes=" + have + "-"), ranges, "resumed at the partial file's size");
    assertEquals(List.of("basalt-1.0.0-A.conf", "basalt-2.0.0-B+3.conf"), entries(root));
    assertTrue(a.rebootStep().isEmpty());
    assertEquals("reboot", events.get(events.size() - 1));
  }

  @Test
  void worksAgainstBasaltRepoServeWhichIgnoresRanges() throws Exception {
    var im = io.basalt.update.install.VerityITAccess.image(tmp, "2.0.0");
    TufFixture tuf = new TufFixture(tmp.resolve("t"));
    tuf.addRelease(
        "stable",
        "x86-64",
        "2.0.0",
        im.bytes(),
        im.rootHash(),
        im.hashOffset(),
        "kernel".getBytes(StandardCharsets.UTF_8),
        "initramfs".getBytes(StandardCharsets.UTF_8));
    tuf.publish();
    try (RepoServer rs = RepoServer.start(tuf.repoDir, 0)) {
      Path root = root(rs.baseUrl().toString(), tuf, im.bytes().length);
      // A partial file from an earlier run: the server answers 200, so the download starts over.
      Files.createDirectories(root.resolve("var/lib/basalt/downloads/2.0.0"));
      Files.write(
          root.resolve("var/lib/basalt/downloads/2.0.0/usr.img.partial"),
          Arrays.copyOf(im.bytes(), 5000));
      UpdateAgent a = agent(root, new ArrayList<>());
      String m = a.runCycle(true, null, false);
      assertTrue(m.startsWith("version 2.0.0 installed in slot B"), m);
      assertEquals(List.of("basalt-1.0.0-A.conf", "basalt-2.0.0-B+3.conf"), entries(root));
    }
  }

  private static List<String> entries(Path root) throws IOException {
    try (var s = Files.list(root.resolve("efi/loader/entries"))) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }
}
