package io.basalt.update.strategy;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.update.lock.EtcdClient;
import java.net.InetAddress;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which etcd member is this machine (the counting runs against real etcd: EtcdQuorumIT). */
class EtcdQuorumCheckTest {

  static EtcdClient.Member member(String name, String client, String peer) {
    return new EtcdClient.Member("1", name, List.of(peer), List.of(client), false);
  }

  @Test
  void theMemberOnOneOfThisMachinesAddressesOrNamedLikeItIsThisMachine() throws Exception {
    EtcdQuorumCheck c =
        new EtcdQuorumCheck(
            null,
            new EtcdQuorumCheck.Self(
                "node1",
                Set.of(InetAddress.getByName("10.0.2.11"), InetAddress.getByName("fd00::11"))));
    assertTrue(c.isSelf(member("etcd-a", "http://10.0.2.11:2379", "http://10.0.2.11:2380")));
    assertTrue(c.isSelf(member("etcd-a", "http://10.0.2.99:2379", "https://10.0.2.11:2380")));
    assertTrue(c.isSelf(member("etcd-a", "https://[fd00::11]:2379", "https://[fd00::11]:2380")));
    assertTrue(c.isSelf(member("NODE1", "http://10.0.2.99:2379", "http://10.0.2.99:2380")));
    assertTrue(
        c.isSelf(member("etcd-a", "https://node1.example:2379", "https://node1.example:2380")));
    assertFalse(c.isSelf(member("node2", "http://10.0.2.12:2379", "http://10.0.2.12:2380")));
    assertFalse(c.isSelf(member("node10", "http://node10:2379", "http://node10:2380")));
    // every machine has a loopback address: a loopback URL names no machine in particular
    EtcdQuorumCheck withLoopback =
        new EtcdQuorumCheck(
            null, new EtcdQuorumCheck.Self("node1", Set.of(InetAddress.getByName("127.0.0.1"))));
    assertFalse(
        withLoopback.isSelf(member("etcd-a", "http://127.0.0.1:2379", "http://127.0.0.1:2380")));
  }
}
