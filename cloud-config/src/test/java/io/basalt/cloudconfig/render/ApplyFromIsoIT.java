package io.basalt.cloudconfig.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.CloudConfig;
import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.cloudconfig.datasource.ConfigDriveDatasource;
import io.basalt.cloudconfig.datasource.Datasource;
import io.basalt.cloudconfig.datasource.Datasources;
import io.basalt.cloudconfig.datasource.OpenNebulaDatasource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real thing without a VM: ISO9660 images labelled config-2 and CONTEXT built with xorriso,
 * read back with xorriso's osirrox (what the host's mount gives), the datasource read, and the
 * config applied twice to a temporary root of real files (real modes and numeric owners, atomic
 * moves), with the shadow-utils tools simulated on that root's etc/passwd.
 */
class ApplyFromIsoIT {

  static final String CONFIG =
      "#cloud-config\n"
          + "hostname: iso-node\n"
          + "users:\n"
          + "  - name: elroy\n"
          + "    groups: [sudo]\n"
          + "    ssh-authorized-keys:\n"
          + "      - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE5vQ2Zl8yZQ9a0hQwz3D+8i9Dq0Wq1bOqlH4lmBXQJx elroy@desk\n"
          + "write_files:\n"
          + "  - path: /etc/app/secret.conf\n"
          + "    owner: elroy:sudo\n"
          + "    permissions: '0640'\n"
          + "    encoding: gzip+base64\n"
          + "    content: H4sIAAAAAAAAA8tIzcnJVyjPL8pJAQCFEUoNCwAAAA==\n"
          + "  - path: /opt/bin/tool\n"
          + "    permissions: '4755'\n"
          + "    content: \"#!/bin/sh\\n\"\n"
          + "coreos:\n"
          + "  etcd2:\n"
          + "    name: iso-node\n"
          + "    advertise-client-urls: http://$private_ipv4:2379\n"
          + "  units:\n"
          + "    - name: etcd.service\n"
          + "      command: start\n";

  @TempDir Path tmp;

  static void run(Path dir, String... argv) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(argv[0] + " timed out");
    }
    if (p.exitValue() != 0) {
      throw new IOException(String.join(" ", argv) + " failed: " + out);
    }
  }

  /**
   * Builds an ISO9660 (Rock Ridge + Joliet) image with volume id {@code label} from {@code stage}.
   */
  Path iso(Path stage, String label) throws Exception {
    Path iso = tmp.resolve(label + ".iso");
    run(
        tmp,
        "xorriso",
        "-as",
        "mkisofs",
        "-quiet",
        "-V",
        label,
        "-J",
        "-r",
        "-o",
        iso.toString(),
        stage.toString());
    Process p =
        new ProcessBuilder("xorriso", "-indev", iso.toString(), "-pvd_info")
            .redirectErrorStream(true)
            .start();
    String info = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(60, TimeUnit.SECONDS);
    assertTrue(info.contains("Volume Id    : " + label), info);
    Path mnt = tmp.resolve(label + "-mnt");
    run(
        tmp,
        "xorriso",
        "-osirrox",
        "on",
        "-indev",
        iso.toString(),
        "-extract",
        "/",
        mnt.toString());
    return mnt;
  }

  private Path applyTwice(Datasource ds) throws Exception {
    Datasource.Found f = ds.fetch().orElseThrow();
    UserData ud =
        UserDataParser.parse(
            f.metadata().substitute(Datasources.text(f.userData())),
            ValidationOptions.defaultImage());
    assertFalse(ud.hasErrors(), ud.diagnostics().toString());
    CloudConfig config = ud.config().withMetadata(f.metadata());
    Path root = tmp.resolve("root-" + ds.name());
    Files.createDirectories(root);
    FakeSystemTools tools = new FakeSystemTools(root);
    List<String> log = new ArrayList<>();
    ApplyReport first = new Applier(root, tools, false, log::add).apply(config, ud.scripts());
    assertTrue(first.ok(), first.failures().toString());
    String tree = TreeDump.dump(root, false);
    ApplyReport second = new Applier(root, tools, false, log::add).apply(config, ud.scripts());
    assertTrue(second.ok(), second.failures().toString());
    assertEquals(List.of(), second.changes());
    assertEquals(tree, TreeDump.dump(root, false));
    return root;
  }

  private static int attr(Path p, String name) throws IOException {
    return (Integer) Files.getAttribute(p, "unix:" + name, LinkOption.NOFOLLOW_LINKS);
  }

  @Test
  void configDriveIso() throws Exception {
    Path stage = tmp.resolve("cd");
    Files.createDirectories(stage.resolve("openstack/latest"));
    Files.createDirectories(stage.resolve("ec2/2009-04-04"));
    Files.writeString(stage.resolve("openstack/latest/user_data"), CONFIG);
    Files.writeString(
        stage.resolve("openstack/latest/meta_data.json"),
        "{\"hostname\":\"ignored\",\"public_keys\":{}}");
    Files.writeString(
        stage.resolve("ec2/2009-04-04/meta-data.json"), "{\"local-ipv4\":\"10.9.8.7\"}");
    Path root = applyTwice(new ConfigDriveDatasource(iso(stage, "config-2")));

    Path secret = root.resolve("etc/app/secret.conf");
    assertEquals("hello world", Files.readString(secret).trim());
    assertEquals(0640, attr(secret, "mode") & 07777);
    assertEquals(1000, attr(secret, "uid"));
    assertEquals(27, attr(secret, "gid"));
    assertEquals(04755, attr(root.resolve("opt/bin/tool"), "mode") & 07777);
    Path keys = root.resolve("home/elroy/.ssh/authorized_keys");
    assertEquals(0600, attr(keys, "mode") & 07777);
    assertEquals(1000, attr(keys, "uid"));
    assertEquals("iso-node\n", Files.readString(root.resolve("etc/hostname")));
    assertTrue(
        Files.readString(root.resolve("run/systemd/system/etcd.service.d/20-cloudinit.conf"))
            .contains("Environment=\"ETCD_ADVERTISE_CLIENT_URLS=http://10.9.8.7:2379\""));
  }

  @Test
  void openNebulaContextIso() throws Exception {
    Path stage = tmp.resolve("ctx");
    Files.createDirectories(stage);
    Files.writeString(
        stage.resolve("context.sh"),
        "# Context variables generated by OpenNebula\n"
            + "ETH0_IP='10.0.0.15'\nETH0_MAC='02:00:0a:00:00:0f'\nETH0_MASK='255.255.255.0'\nETH0_GATEWAY='10.0.0.1'\n"
            + "ETH0_DNS='10.0.0.1'\nSET_HOSTNAME='one-vm'\nUSERDATA_ENCODING='base64'\n"
            + "USER_DATA='"
            + Base64.getEncoder()
                .encodeToString(
                    CONFIG.replace("hostname: iso-node\n", "").getBytes(StandardCharsets.UTF_8))
            + "'\n");
    Path root = applyTwice(new OpenNebulaDatasource(iso(stage, "CONTEXT")));
    assertEquals("one-vm\n", Files.readString(root.resolve("etc/hostname")));
    assertEquals(
        "[Match]\nMACAddress=02:00:0a:00:00:0f\n\n[Network]\nAddress=10.0.0.15/24\nGateway=10.0.0.1\nDNS=10.0.0.1\n",
        Files.readString(root.resolve("run/systemd/network/10-basalt-context-eth0.network")));
    assertTrue(
        Files.readString(root.resolve("run/systemd/system/etcd.service.d/20-cloudinit.conf"))
            .contains("http://10.0.0.15:2379"));
  }
}
