package io.basalt.cloudconfig.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.cloudconfig.Metadata;
import io.basalt.cloudconfig.PrivateIpv4;
import io.basalt.cloudconfig.UserData;
import io.basalt.cloudconfig.UserDataParser;
import io.basalt.cloudconfig.ValidationOptions;
import io.basalt.host.HostPaths;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A three-member static etcd cluster from {@code coreos.etcd2} on machines without a metadata
 * service: {@code $private_ipv4} is the address of the config's own networkd unit, and the etcd
 * drop-in is exactly what etcd needs.
 */
class EtcdClusterRenderTest {

  /** Member {@code n} of 3; the configs differ only in name and address. */
  static String member(int n) {
    return """
        #cloud-config
        hostname: etcd-%1$d
        coreos:
          etcd2:
            name: etcd-%1$d
            initial_cluster: etcd-1=http://10.10.0.1:2380,etcd-2=http://10.10.0.2:2380,etcd-3=http://10.10.0.3:2380
            initial_advertise_peer_urls: http://$private_ipv4:2380
            listen_peer_urls: http://$private_ipv4:2380
            listen_client_urls: http://0.0.0.0:2379
            advertise_client_urls: http://$private_ipv4:2379
            initial_cluster_state: new
            initial_cluster_token: basalt-etcd
          update:
            reboot_strategy: etcd-lock
            swarm_drain: auto
            swarm_drain_timeout: 5m
            etcd_quorum_check: "yes"
          locksmith:
            endpoint: http://10.10.0.1:2379,http://10.10.0.2:2379,http://10.10.0.3:2379
          units:
            - name: 10-private.network
              content: |
                [Match]
                Name=ens4

                [Network]
                Address=10.10.0.%1$d/24
            - name: etcd.service
              command: start
              enable: true
        """
        .formatted(n);
  }

  /** QEMU's user-mode uplink: up, with an RFC 1918 address that is not the cluster's. */
  static final List<PrivateIpv4.Interface> UPLINK_ONLY =
      List.of(
          new PrivateIpv4.Interface("lo", 1, true, true, List.of("127.0.0.1")),
          new PrivateIpv4.Interface("ens3", 2, true, false, List.of("10.0.2.15")),
          new PrivateIpv4.Interface("ens4", 3, false, false, List.of()));

  /** What apply does: resolve, substitute, validate, render; returns the tree and commands. */
  static String render(String userData, Metadata md, List<PrivateIpv4.Interface> ifaces)
      throws Exception {
    PrivateIpv4.Found f =
        PrivateIpv4.resolve(userData, md, ValidationOptions.defaultImage(), () -> ifaces);
    Metadata m = f == null ? md : PrivateIpv4.with(md, f.address());
    UserData ud = UserDataParser.parse(m.substitute(userData), ValidationOptions.defaultImage());
    assertFalse(ud.hasErrors(), ud.diagnostics().toString());
    assertTrue(ud.diagnostics().isEmpty(), ud.diagnostics().toString());
    try (FileSystem fs = TestFs.unix()) {
      Path root = fs.getPath("/r");
      Files.createDirectories(root);
      DryRunSystemTools tools = new DryRunSystemTools();
      List<String> log = new ArrayList<>();
      ApplyReport r =
          new Applier(root, tools, true, log::add).apply(ud.config().withMetadata(m), List.of());
      assertTrue(r.ok(), r.failures().toString());
      StringBuilder b = new StringBuilder(TreeDump.dump(root, false));
      for (List<String> c : tools.commands()) {
        b.append("$ ").append(String.join(" ", c)).append('\n');
      }
      return b.toString();
    }
  }

  @Test
  void threeMembersRenderTheirOwnAddressFromTheirNetworkdUnit() throws Exception {
    for (int n = 1; n <= 3; n++) {
      String out = render(member(n), Metadata.none(), UPLINK_ONLY);
      // The path basaltctl status reads the member's client URLs from (host-contract).
      String dropIn = section(out, HostPaths.ETCD_MEMBER_DROP_IN);
      assertEquals(
          """
          [Service]
          Environment="ETCD_ADVERTISE_CLIENT_URLS=http://10.10.0.%1$d:2379"
          Environment="ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.10.0.%1$d:2380"
          Environment="ETCD_INITIAL_CLUSTER=etcd-1=http://10.10.0.1:2380,etcd-2=http://10.10.0.2:2380,etcd-3=http://10.10.0.3:2380"
          Environment="ETCD_INITIAL_CLUSTER_STATE=new"
          Environment="ETCD_INITIAL_CLUSTER_TOKEN=basalt-etcd"
          Environment="ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379"
          Environment="ETCD_LISTEN_PEER_URLS=http://10.10.0.%1$d:2380"
          Environment="ETCD_NAME=etcd-%1$d"
          """
              .formatted(n),
          dropIn);
      // Data on ROOT: the drop-in leaves ETCD_DATA_DIR to the image (/var/lib/etcd/default).
      assertFalse(out.contains("ETCD_DATA_DIR"), out);
      assertEquals(
          """
          REBOOT_STRATEGY=etcd-lock
          SWARM_DRAIN=auto
          SWARM_DRAIN_TIMEOUT=5m
          ETCD_QUORUM_CHECK=yes
          LOCKSMITHD_ENDPOINT=http://10.10.0.1:2379,http://10.10.0.2:2379,http://10.10.0.3:2379
          """,
          section(out, "/etc/basalt/update.conf"));
      assertTrue(out.contains("$ systemctl --no-block restart systemd-networkd.service"), out);
    }
  }

  @Test
  void tlsAndDiscoveryPassThrough() throws Exception {
    String cfg =
        """
        #cloud-config
        write_files:
          - path: /etc/ssl/etcd/server-key.pem
            owner: etcd:etcd
            permissions: "0600"
            content: "not a real key"
        coreos:
          etcd2:
            name: etcd-1
            discovery: https://discovery.etcd.io/7a0bbd2e9a6f1c5e4e1c0b3a9d8f7e6d
            listen_client_urls: https://0.0.0.0:2379
            advertise_client_urls: https://$private_ipv4:2379
            cert_file: /etc/ssl/etcd/server.pem
            key_file: /etc/ssl/etcd/server-key.pem
            trusted_ca_file: /etc/ssl/etcd/ca.pem
            client_cert_auth: true
            peer_cert_file: /etc/ssl/etcd/peer.pem
            peer_key_file: /etc/ssl/etcd/peer-key.pem
            peer_trusted_ca_file: /etc/ssl/etcd/ca.pem
            peer_client_cert_auth: true
        """;
    Metadata md = new Metadata(null, "10.10.0.1", null, null, null, List.of(), java.util.Map.of());
    String out = render(cfg, md, List.of());
    assertEquals(
        """
        [Service]
        Environment="ETCD_ADVERTISE_CLIENT_URLS=https://10.10.0.1:2379"
        Environment="ETCD_CERT_FILE=/etc/ssl/etcd/server.pem"
        Environment="ETCD_CLIENT_CERT_AUTH=true"
        Environment="ETCD_DISCOVERY=https://discovery.etcd.io/7a0bbd2e9a6f1c5e4e1c0b3a9d8f7e6d"
        Environment="ETCD_KEY_FILE=/etc/ssl/etcd/server-key.pem"
        Environment="ETCD_LISTEN_CLIENT_URLS=https://0.0.0.0:2379"
        Environment="ETCD_NAME=etcd-1"
        Environment="ETCD_PEER_CERT_FILE=/etc/ssl/etcd/peer.pem"
        Environment="ETCD_PEER_KEY_FILE=/etc/ssl/etcd/peer-key.pem"
        Environment="ETCD_PEER_CLIENT_CERT_AUTH=true"
        Environment="ETCD_PEER_TRUSTED_CA_FILE=/etc/ssl/etcd/ca.pem"
        Environment="ETCD_TRUSTED_CA_FILE=/etc/ssl/etcd/ca.pem"
        """,
        section(out, HostPaths.ETCD_MEMBER_DROP_IN));
    assertTrue(out.contains("== /etc/ssl/etcd/server-key.pem mode=0600"), out);
  }

  @Test
  void theNetworkdUnitWinsOverAnInterfaceThatIsAlreadyUp() {
    PrivateIpv4.Found f =
        PrivateIpv4.resolve(
            member(2), Metadata.none(), ValidationOptions.defaultImage(), () -> UPLINK_ONLY);
    assertEquals(new PrivateIpv4.Found("10.10.0.2", "coreos.units[0] (10-private.network)"), f);
  }

  @Test
  void datasourceMetadataWins() {
    Metadata md = new Metadata(null, "172.16.5.5", null, null, null, List.of(), java.util.Map.of());
    assertNull(
        PrivateIpv4.resolve(member(1), md, ValidationOptions.defaultImage(), () -> UPLINK_ONLY));
  }

  @Test
  void withoutANetworkdUnitTheFirstPrivateAddressOnAnInterfaceThatIsUp() {
    String cfg =
        "#cloud-config\ncoreos:\n  etcd2:\n    advertise_client_urls: http://$private_ipv4:2379\n";
    List<PrivateIpv4.Interface> ifaces =
        List.of(
            new PrivateIpv4.Interface("lo", 1, true, true, List.of("127.0.0.1")),
            new PrivateIpv4.Interface("eth0", 2, true, false, List.of("203.0.113.7")),
            new PrivateIpv4.Interface("docker0", 3, true, false, List.of("172.17.0.1")),
            new PrivateIpv4.Interface("eth2", 5, true, false, List.of("192.168.7.20")),
            new PrivateIpv4.Interface("eth1", 4, false, false, List.of("10.9.9.9")));
    assertEquals(
        new PrivateIpv4.Found("192.168.7.20", "interface eth2"),
        PrivateIpv4.resolve(cfg, Metadata.none(), ValidationOptions.defaultImage(), () -> ifaces));
    assertNull(
        PrivateIpv4.resolve(cfg, Metadata.none(), ValidationOptions.defaultImage(), List::of));
  }

  private static String section(String tree, String path) {
    int at = tree.indexOf("== " + path + " ");
    assertTrue(at >= 0, tree);
    int body = tree.indexOf('\n', at) + 1;
    int end = tree.indexOf("\n== ", body);
    int cmd = tree.indexOf("\n$ ", body);
    int stop = end < 0 ? cmd : cmd < 0 ? end : Math.min(end, cmd);
    return tree.substring(body, stop < 0 ? tree.length() : stop + 1);
  }
}
