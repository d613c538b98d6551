package io.basalt.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
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

  /** payload.json as the builder writes it (Manifests.payload: Jackson, two-space indent). */
  private static String json(String offset, String sha) {
    return "{\n"
        + "  \"name\" : \"basalt\",\n"
        + "  \"version\" : \"0.1.0\",\n"
        + "  \"channel\" : \"stable\",\n"
        + "  \"arch\" : \"x86-64\",\n"
        + "  \"usrRootHash\" : \""
        + "0a".repeat(32)
        + "\",\n"
        + "  \"usrHashOffset\" : "
        + offset
        + ",\n"
        + "  \"files\" : {\n"
        + "    \"usr.img\" : {\n      \"size\" : 351207424,\n      \"sha256\" : \""
        + sha
        + "\"\n    },\n"
        + "    \"vmlinuz\" : {\n      \"size\" : 8,\n      \"sha256\" : \""
        + "11".repeat(32)
        + "\"\n    },\n"
        + "    \"initramfs\" : {\n      \"size\" : 7,\n      \"sha256\" : \""
        + "22".repeat(32)
        + "\"\n    }\n"
        + "  }\n}\n";
  }

  @Test
  void parsesWhatTheBuilderWrites() throws IOException {
    UpdatePayload q =
        UpdatePayload.parse(
            json("348450816", "f1".repeat(32)).getBytes(StandardCharsets.UTF_8), "p");
    assertEquals("basalt", q.name());
    assertEquals("0.1.0", q.version());
    assertEquals(348450816L, q.usrHashOffset());
    assertEquals("0a".repeat(32), q.usrRootHash());
    assertEquals(
        new UpdatePayload.FileEntry("usr.img", 351207424, "f1".repeat(32)), q.file("usr.img"));
    assertEquals(8, q.file("vmlinuz").size());
    assertEquals(
        List.of("usr.img", "vmlinuz", "initramfs"), q.files().stream().map(f -> f.path()).toList());
  }

  @Test
  void parseErrorsNameFileLineAndKey() {
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                UpdatePayload.parse(
                    json("4097", "f1".repeat(32)).getBytes(StandardCharsets.UTF_8),
                    "u/payload.json"));
    assertTrue(
        e.getMessage().startsWith("u/payload.json:1: usrHashOffset: expected a multiple of 4096"),
        e.getMessage());
    e =
        assertThrows(
            IOException.class,
            () ->
                UpdatePayload.parse(
                    json("4096", "F1".repeat(32)).getBytes(StandardCharsets.UTF_8),
                    "u/payload.json"));
    assertTrue(
        e.getMessage().startsWith("u/payload.json:9: files.usr.img.sha256: expected 64"),
        e.getMessage());
    e =
        assertThrows(
            IOException.class,
            () -> UpdatePayload.parse("{\"name\":\"b\"}".getBytes(StandardCharsets.UTF_8), "x"));
    assertTrue(e.getMessage().contains("version: missing"), e.getMessage());
  }
}
