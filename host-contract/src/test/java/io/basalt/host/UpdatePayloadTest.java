package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UpdatePayloadTest {
  private final UpdatePayload p =
      new UpdatePayload(
          "basalt",
          "1.0.0",
          "stable",
          "x86-64",
          "ab".repeat(32),
          8192,
          List.of(new UpdatePayload.FileEntry("usr.img", 9000, "00")));

  @Test
  void targetPathAndCustomFields() {
    assertEquals("stable/x86-64/1.0.0/vmlinuz", p.targetPath(UpdatePayload.KERNEL));
    assertEquals(
        Map.of("version", "1.0.0", "channel", "stable", "arch", "x86-64", "name", "basalt"),
        p.targetCustom("vmlinuz"));
    Map<String, Object> usr = p.targetCustom("usr.img");
    assertEquals(
        List.of("version", "channel", "arch", "name", "usr_root_hash", "usr_hash_offset"),
        List.copyOf(usr.keySet()));
    assertEquals(8192L, usr.get("usr_hash_offset"));
  }
}
