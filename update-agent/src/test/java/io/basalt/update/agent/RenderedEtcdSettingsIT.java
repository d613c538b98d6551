package io.basalt.update.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.cloudconfig.render.Applier;
import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdException;
import io.basalt.update.lock.RebootLock;
import io.basalt.update.lock.RetryPolicy;
import io.basalt.update.testing.EtcdProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole path from cloud-config to the reboot lock against a real etcd with TLS (client
 * certificates required) and username/password: coreos.locksmith rendered into update.conf over an
 * operator's file, loaded by the agent's config loader, turned into the agent's etcd client by
 * {@link AgentMain#etcdConfig}. Certificates are made by openssl in a temporary folder.
 */
class RenderedEtcdSettingsIT {

  @TempDir Path pki;

  @Test
  void renderedLocksmithTlsAndPasswordTakeAndReleaseTheLock() throws Exception {
    makePki();
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

      UpdateConfig good = rendered(etcd.endpoint(), "agentpw");
      assertEquals("workers", good.lockGroup());
      RebootLock lock = lock(good);
      assertTrue(lock.tryLock("machine-a").held());
      assertTrue(lock.status().semaphore().isHeldBy("machine-a"));
      assertEquals(RebootLock.UnlockOutcome.RELEASED, lock.unlock("machine-a"));
      assertFalse(lock.status().semaphore().isHeldBy("machine-a"));

      RebootLock wrong = lock(rendered(etcd.endpoint(), "not-the-password"));
      EtcdException e = assertThrows(EtcdException.class, () -> wrong.tryLock("machine-b"));
      assertTrue(
          e.getMessage().contains("rejected user 'agent'")
              && e.getMessage().contains("authentication failed"),
          e.getMessage());
      assertFalse(e.getMessage().contains("not-the-password"), e.getMessage());
    }
  }

  /** What cloud-config makes of a coreos.locksmith TLS + password section, loaded by the agent. */
  private UpdateConfig rendered(String endpoint, String password) throws IOException {
    String yaml =
        "#cloud-config\n"
            + "coreos:\n"
            + "  update:\n"
            + "    server: https://updates.example.com/basalt\n"
            + "    group: stable\n"
            + "    reboot-strategy: etcd-lock\n"
            + "  locksmith:\n"
            + "    endpoint: "
            + endpoint
            + "\n"
            + "    etcd_cafile: "
            + pki.resolve("ca.pem")
            + "\n"
            + "    etcd_certfile: "
            + pki.resolve("client.pem")
            + "\n"
            + "    etcd_keyfile: "
            + pki.resolve("client.key")
            + "\n"
            + "    etcd_username: agent\n"
            + "    etcd_password: "
            + password
            + "\n"
            + "    group: workers\n";
    UserData ud = UserDataParser.parse(yaml, ValidationOptions.defaultImage());
    assertFalse(ud.hasErrors(), ud.diagnostics().toString());
    String conf =
        Applier.renderUpdateConf(
            ud.config(),
            "REPOSITORY_URL=https://operator.example.com/basalt\nCHANNEL=beta\n"
                + "ETCD_ENDPOINTS=http://127.0.0.1:1\n");
    Path file = pki.resolve("update.conf");
    Files.writeString(file, conf, StandardCharsets.UTF_8);
    return UpdateConfig.load(null, file);
  }

  private static RebootLock lock(UpdateConfig c) throws IOException {
    return new RebootLock(
        EtcdClient.create(AgentMain.etcdConfig(c)),
        c.lockGroup(),
        Clock.systemUTC(),
        RetryPolicy.defaults().withGiveUpAfter(Duration.ofSeconds(2)));
  }

  private void makePki() throws Exception {
    sh(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key"
            + " -out ca.pem -days 2 -subj /CN=basalt-test-ca");
    for (String who : List.of("server", "client")) {
      sh(
          "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "
              + who
              + ".key -out "
              + who
              + ".csr -subj /O=basalt-test-"
              + who);
      // The etcd gateway dials its own gRPC port with the server certificate: clientAuth too, and
      // no CommonName, or etcd refuses password logins through the gateway ("CommonName of client
      // sending a request against gateway will be ignored").
      Files.writeString(
          pki.resolve(who + ".ext"),
          who.equals("server")
              ? "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
              : "extendedKeyUsage=clientAuth\n");
      sh(
          "openssl x509 -req -in "
              + who
              + ".csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out "
              + who
              + ".pem -extfile "
              + who
              + ".ext");
    }
  }

  private void sh(String cmd) throws Exception {
    Process p =
        new ProcessBuilder(new ArrayList<>(List.of(cmd.split(" "))))
            .directory(new java.io.File(pki.toString()))
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, cmd + ": " + out);
  }
}
