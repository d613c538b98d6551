package io.basalt.update.status;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import jdk.net.UnixDomainPrincipal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerAccessTest {

  @TempDir Path dir;

  private static UnixDomainPrincipal peer(String user, String group) {
    UserPrincipal u = () -> user;
    GroupPrincipal g = () -> group;
    return new UnixDomainPrincipal(u, g);
  }

  @Test
  void rootMayDoEverythingBasaltAndSudoMembersMayReadOthersNothing() throws Exception {
    Path groups = dir.resolve("group");
    Files.writeString(
        groups,
        "root:x:0:\nsudo:x:27:alice,carol\nbasalt:x:990:bob\ndocker:x:999:dave\nwheel:x:10:\n",
        StandardCharsets.UTF_8);
    PeerAccess a = PeerAccess.groups(groups);
    assertEquals(PeerAccess.Level.ALL, a.level(peer("root", "root")));
    assertEquals(PeerAccess.Level.READ_ONLY, a.level(peer("alice", "alice")));
    assertEquals(PeerAccess.Level.READ_ONLY, a.level(peer("bob", "bob")));
    assertEquals(PeerAccess.Level.READ_ONLY, a.level(peer("erin", "basalt"))); // primary group
    assertEquals(PeerAccess.Level.NONE, a.level(peer("dave", "dave")));
    assertEquals(PeerAccess.Level.NONE, a.level(peer("nobody", "nogroup")));
  }

  @Test
  void missingGroupFileLeavesOnlyRoot() throws Exception {
    PeerAccess a = PeerAccess.groups(dir.resolve("absent"));
    assertEquals(PeerAccess.Level.ALL, a.level(peer("root", "root")));
    assertEquals(PeerAccess.Level.NONE, a.level(peer("alice", "alice")));
  }
}
