package io.basalt.update.status;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatusServerTest {

  @TempDir Path dir;
  private StatusServer server;

  private static final AgentStatus STATUS =
      new AgentStatus(
          "1.0.0",
          "A",
          "stable",
          "off",
          "downloading",
          40,
          null,
          null,
          null,
          null,
          null,
          List.of(),
          3_000_000,
          340_000_000);

  private static final Function<String, StatusProtocol.Reply> HANDLER =
      req -> new StatusProtocol.Reply(true, "did " + req, STATUS);

  @AfterEach
  void stop() throws IOException {
    if (server != null) {
      server.close();
    }
  }

  private Path start(PeerAccess access, Duration readTimeout) throws IOException {
    Path sock = dir.resolve("run/agent.sock");
    server = new StatusServer(sock, HANDLER, access, readTimeout);
    server.start();
    return sock;
  }

  @Test
  void readOnlyPeerMayAskStatusButChangingStateNeedsRoot() throws Exception {
    Path sock = start(peer -> PeerAccess.Level.READ_ONLY, Duration.ofSeconds(5));
    StatusProtocol.Reply st = StatusProtocol.call(sock, "status", Duration.ofSeconds(5));
    assertTrue(st.ok(), st.message());
    assertEquals("1.0.0", st.status().version());
    assertEquals(STATUS, st.status(), "every field, the delta bytes included, crosses the socket");
    assertTrue(
        st.status()
            .render()
            .contains(
                "Transfer:   delta: fetch 3,000,000 bytes, reuse 340,000,000 bytes (0.9 % fetched)"),
        st.status().render());
    StatusProtocol.Reply check = StatusProtocol.call(sock, "check", Duration.ofSeconds(5));
    assertFalse(check.ok());
    assertTrue(
        check.message().contains("check changes the agent's state and needs root"),
        check.message());
    assertTrue(check.message().contains("sudo basaltctl"), check.message());
  }

  @Test
  void refusedPeerIsToldWhichGroupIsNeeded() throws Exception {
    Path sock = start(peer -> PeerAccess.Level.NONE, Duration.ofSeconds(5));
    StatusProtocol.Reply st = StatusProtocol.call(sock, "status", Duration.ofSeconds(5));
    assertFalse(st.ok());
    assertTrue(
        st.message().contains("needs root or membership in group basalt or sudo"), st.message());
  }

  @Test
  void aRefusedPeerSlowToSendItsRequestStillGetsTheAnswerNotABrokenPipe() throws Exception {
    // Seen in a VM: a user in no group ran basaltctl status and got "Broken pipe", because the
    // agent answered and closed before the client had written its request.
    Path sock = start(peer -> PeerAccess.Level.NONE, Duration.ofSeconds(5));
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(sock));
      Thread.sleep(300); // a slow JVM between connect and write
      ch.write(ByteBuffer.wrap("status\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
      String reply =
          new String(StatusProtocol.readLine(ch), java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(
          reply.contains("needs root or membership in group basalt or sudo"), "reply: " + reply);
    }
  }

  @Test
  void rootMayChangeState() throws Exception {
    Path sock = start(peer -> PeerAccess.Level.ALL, Duration.ofSeconds(5));
    StatusProtocol.Reply check = StatusProtocol.call(sock, "check", Duration.ofSeconds(5));
    assertTrue(check.ok(), check.message());
    assertEquals("did check", check.message());
  }

  @Test
  void socketFileIsConnectableByAllAndAccessIsDecidedByPeerCredentials() throws Exception {
    Path sock = start(peer -> PeerAccess.Level.ALL, Duration.ofSeconds(5));
    assertEquals("rw-rw-rw-", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
    assertEquals(
        "rwxr-xr-x",
        PosixFilePermissions.toString(Files.getPosixFilePermissions(sock.getParent())));
  }

  @Test
  void silentClientDoesNotBlockOthersAndIsCutOffAfterTheReadTimeout() throws Exception {
    Path sock = start(peer -> PeerAccess.Level.ALL, Duration.ofMillis(500));
    try (SocketChannel idle = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      idle.connect(UnixDomainSocketAddress.of(sock));
      // the idle client sends nothing; another client is still answered at once
      StatusProtocol.Reply st =
          assertTimeoutPreemptively(
              Duration.ofSeconds(3),
              () -> StatusProtocol.call(sock, "status", Duration.ofSeconds(2)));
      assertTrue(st.ok());
      // and the idle one is disconnected after the read timeout
      int n =
          assertTimeoutPreemptively(
              Duration.ofSeconds(3), () -> idle.read(ByteBuffer.allocate(16)));
      assertEquals(-1, n);
    }
  }

  /**
   * The read timeout measures the client, not the agent: a prompt client gets its answer however
   * long the agent takes to make it, encoding included. On a freshly booted machine the agent's
   * first reply paid for loading the JSON encoder inside the client's time and the first {@code
   * basaltctl status} got "closed without an answer".
   */
  @Test
  void aPromptClientIsAnsweredHoweverLongTheAgentTakesToEncodeTheReply() throws Exception {
    List<String> slowToEncode =
        new java.util.AbstractList<>() {
          @Override
          public String get(int i) {
            try {
              Thread.sleep(400); // longer than the read timeout below
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return "0.9.0";
          }

          @Override
          public int size() {
            return 1;
          }
        };
    AgentStatus slow =
        new AgentStatus(
            "1.0.0",
            "A",
            "stable",
            "off",
            "idle",
            -1,
            null,
            null,
            null,
            null,
            null,
            slowToEncode,
            -1,
            -1);
    Path sock = dir.resolve("run/agent.sock");
    server =
        new StatusServer(
            sock,
            req -> new StatusProtocol.Reply(true, null, slow),
            peer -> PeerAccess.Level.ALL,
            Duration.ofMillis(150));
    server.start();
    StatusProtocol.Reply st = StatusProtocol.call(sock, "status", Duration.ofSeconds(5));
    assertTrue(st.ok(), st.message());
    assertEquals(List.of("0.9.0"), st.status().failedVersions());
  }

  @Test
  void clientGivesUpAfterItsTimeoutWhenTheAgentDoesNotAnswer() throws Exception {
    Path sock = dir.resolve("mute.sock");
    try (var mute = java.nio.channels.ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      mute.bind(UnixDomainSocketAddress.of(sock));
      IOException e =
          assertTimeoutPreemptively(
              Duration.ofSeconds(3),
              () ->
                  assertThrows(
                      IOException.class,
                      () -> StatusProtocol.call(sock, "status", Duration.ofMillis(300))));
      assertTrue(e.getMessage().contains("no answer from the update agent"), e.getMessage());
    }
  }

  @Test
  void permissionDeniedOnConnectSaysWhatIsNeededNotThatTheAgentIsDown() {
    Path sock = Path.of("/run/basalt/update-agent.sock");
    IOException denied =
        StatusProtocol.connectFailure(sock, new BindException("Permission denied"));
    assertInstanceOf(StatusProtocol.PermissionDeniedException.class, denied);
    assertTrue(
        denied.getMessage().contains("needs root or membership in group basalt or sudo"),
        denied.getMessage());
    assertTrue(denied.getMessage().contains(sock.toString()), denied.getMessage());
    IOException refused =
        StatusProtocol.connectFailure(sock, new ConnectException("Connection refused"));
    assertInstanceOf(StatusProtocol.NotRunningException.class, refused);
    assertTrue(refused.getMessage().contains("not running"), refused.getMessage());
  }
}
