package io.basalt.update.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.update.testing.EtcdProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * TLS (CA, client certificate and key, several key encodings) and username/password against real
 * etcd servers; certificates made by openssl in the test.
 */
class EtcdTlsAuthIT {

  static Path pki;

  @BeforeAll
  static void makePki() throws Exception {
    pki = Files.createTempDirectory("basalt-pki-");
    sh(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key"
            + " -out ca.pem -days 2 -subj /CN=basalt-test-ca");
    for (String who : List.of("server", "client", "rsaclient")) {
      String key =
          who.equals("rsaclient")
              ? "-newkey rsa:2048"
              : "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1";
      sh(
          "openssl req "
              + key
              + " -nodes -keyout "
              + who
              + ".key -out "
              + who
              + ".csr -subj /CN="
              + who);
      // etcd 3.4 gateway dials its own gRPC port with the server certificate as client certificate:
      // with --client-cert-auth the server certificate must allow clientAuth too (etcd docs)
      Files.writeString(
          pki.resolve(who + ".ext"),
          who.equals("server")
              ? "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
              : "extendedKeyUsage=clientAuth\n");
      sh(
          "openssl x509 -req -in "
              + who
              + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2"
              + " -out "
              + who
              + ".pem -extfile "
              + who
              + ".ext");
    }
    // the same EC key in SEC1 ("EC PRIVATE KEY") and the RSA key in PKCS#1 ("RSA PRIVATE KEY")
    sh("openssl ec -in client.key -out client-sec1.key");
    sh("openssl rsa -in rsaclient.key -traditional -out rsaclient-pkcs1.key");
    assertTrue(Files.readString(pki.resolve("client-sec1.key")).contains("BEGIN EC PRIVATE KEY"));
    assertTrue(
        Files.readString(pki.resolve("rsaclient-pkcs1.key")).contains("BEGIN RSA PRIVATE KEY"));
  }

  @AfterAll
  static void cleanPki() throws IOException {
    try (Stream<Path> s = Files.walk(pki)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  static void sh(String cmd) throws Exception {
    List<String> argv = new ArrayList<>(List.of(cmd.split(" ")));
    Process p =
        new ProcessBuilder(argv)
            .directory(new java.io.File(pki.toString()))
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, cmd + ": " + out);
  }

  static RebootLock lock(EtcdConfig.Builder b) throws IOException {
    return new RebootLock(
        EtcdClient.create(b.requestTimeout(Duration.ofSeconds(5)).build()),
        "tls",
        Clock.systemUTC(),
        RetryPolicy.defaults().withGiveUpAfter(Duration.ofSeconds(2)));
  }

  @Test
  void tlsWithClientCertificates() throws Exception {
    String ca = pki.resolve("ca.pem").toString();
    try (EtcdProcess etcd =
        EtcdProcess.start(
            "https",
            List.of(
                "--cert-file",
                pki.resolve("server.pem").toString(),
                "--key-file",
                pki.resolve("server.key").toString(),
                "--trusted-ca-file",
                ca,
                "--client-cert-auth"),
            List.of(
                "--cacert",
                ca,
                "--cert",
                pki.resolve("client.pem").toString(),
                "--key",
                pki.resolve("client.key").toString()))) {
      for (String[] kp :
          new String[][] {
            {"client.pem", "client.key"},
            {"client.pem", "client-sec1.key"},
            {"rsaclient.pem", "rsaclient.key"},
            {"rsaclient.pem", "rsaclient-pkcs1.key"}
          }) {
        RebootLock l =
            lock(
                EtcdConfig.builder()
                    .endpoint(etcd.endpoint())
                    .caFile(pki.resolve("ca.pem"))
                    .clientCertificate(pki.resolve(kp[0]), pki.resolve(kp[1])));
        assertTrue(l.tryLock("tls-" + kp[1]).held(), kp[1]);
        assertEquals(RebootLock.UnlockOutcome.RELEASED, l.unlock("tls-" + kp[1]));
      }
      // no client certificate: refused
      RebootLock noCert =
          lock(EtcdConfig.builder().endpoint(etcd.endpoint()).caFile(pki.resolve("ca.pem")));
      IOException e = assertThrows(IOException.class, noCert::status);
      assertTrue(e.getMessage().contains(etcd.endpoint()), e.getMessage());
      // server certificate not trusted without our CA
      RebootLock noCa =
          lock(
              EtcdConfig.builder()
                  .endpoint(etcd.endpoint())
                  .clientCertificate(pki.resolve("client.pem"), pki.resolve("client.key")));
      e = assertThrows(EtcdException.class, noCa::status);
      assertTrue(
          e.getMessage().contains("TLS handshake") && e.getMessage().contains(etcd.endpoint()),
          e.getMessage());
      // a key file that is not a key
      e =
          assertThrows(
              IOException.class,
              () ->
                  EtcdClient.create(
                      EtcdConfig.builder()
                          .endpoint(etcd.endpoint())
                          .clientCertificate(pki.resolve("client.pem"), pki.resolve("ca.pem"))
                          .build()));
      assertTrue(
          e.getMessage().contains("--etcd-keyfile") && e.getMessage().contains("ca.pem"),
          e.getMessage());
    }
  }

  @Test
  void usernamePasswordWithTokenRenewal() throws Exception {
    try (EtcdProcess etcd =
        EtcdProcess.start("http", List.of("--auth-token", "simple", "--auth-token-ttl", "1"))) {
      etcd.etcdctlOutput("user", "add", "root", "--new-user-password=rootpw");
      etcd.etcdctlOutput("role", "add", "rebootlock", "--user=root:rootpw");
      etcd.etcdctlOutput(
          "--user=root:rootpw",
          "role",
          "grant-permission",
          "rebootlock",
          "--prefix=true",
          "readwrite",
          "coreos.com/updateengine/rebootlock/");
      etcd.etcdctlOutput(
          "--user=root:rootpw", "user", "add", "agent", "--new-user-password=agentpw");
      etcd.etcdctlOutput("--user=root:rootpw", "user", "grant-role", "agent", "rebootlock");
      etcd.etcdctlOutput("--user=root:rootpw", "auth", "enable");

      RebootLock ok =
          lock(EtcdConfig.builder().endpoint(etcd.endpoint()).credentials("agent", "agentpw"));
      assertTrue(ok.tryLock("authed").held());
      Thread.sleep(2500); // the simple token's TTL is 1 s: the next call must authenticate again
      assertEquals(RebootLock.UnlockOutcome.RELEASED, ok.unlock("authed"));

      RebootLock wrong =
          lock(EtcdConfig.builder().endpoint(etcd.endpoint()).credentials("agent", "nope"));
      EtcdException e = assertThrows(EtcdException.class, wrong::status);
      assertTrue(
          e.getMessage().contains("rejected user 'agent'")
              && e.getMessage().contains("authentication failed"),
          e.getMessage());
      RebootLock anonymous = lock(EtcdConfig.builder().endpoint(etcd.endpoint()));
      e = assertThrows(EtcdException.class, anonymous::status);
      assertTrue(e.getMessage().contains(etcd.endpoint()), e.getMessage());
    }
  }
}
