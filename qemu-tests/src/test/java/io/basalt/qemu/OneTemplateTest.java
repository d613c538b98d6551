package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.opennebula.OpenNebulaTemplate;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OneTemplateTest {
  /** The template reference's own examples: bare words, comments, repeated vector attributes. */
  @Test
  void readsTheReferenceExamples() throws IOException {
    OneTemplate t =
        OneTemplate.parse(
            String.join(
                "\n",
                "# a comment",
                "NAME   = test-vm",
                "MEMORY = 128 # trailing comment",
                "cpu    = 1",
                "DISK = [ IMAGE_ID = 2 ]",
                "DISK = [ IMAGE = \"Data\", IMAGE_UNAME = \"oneadmin\" ]",
                "OS = [ KERNEL_DS  = \"$FILE[IMAGE=\\\"kernel 3.6\\\"]\",",
                "       ROOT       = sda1,",
                "       KERNEL_CMD = \"ro console=tty1\"]",
                ""));
    assertEquals("test-vm", t.single("NAME"));
    assertEquals("128", t.single("MEMORY"));
    assertEquals("1", t.single("CPU"), "names are case-insensitive");
    assertEquals(2, t.all("DISK").size());
    assertEquals(Map.of("IMAGE_ID", "2"), t.all("DISK").get(0).vector());
    assertEquals(
        Map.of(
            "KERNEL_DS",
            "$FILE[IMAGE=\"kernel 3.6\"]",
            "ROOT",
            "sda1",
            "KERNEL_CMD",
            "ro console=tty1"),
        t.vector("OS"));
    assertThrows(IOException.class, () -> t.vector("DISK"), "two DISKs: not one");
  }

  @Test
  void syntaxErrorsNameTheLine() {
    IOException e =
        assertThrows(
            IOException.class, () -> OneTemplate.parse("NAME = \"x\"\nOS = [ ARCH = \"x\"\n"));
    assertTrue(e.getMessage().startsWith("template line 3: unterminated vector"), e.getMessage());
    e = assertThrows(IOException.class, () -> OneTemplate.parse("NAME \"x\"\n"));
    assertEquals("template line 1: expected '='", e.getMessage());
    e = assertThrows(IOException.class, () -> OneTemplate.parse("A = \"x\nB = y"));
    assertTrue(e.getMessage().contains("unterminated string"), e.getMessage());
  }

  /** The builder's template, read back independently, says what OpenNebulaTemplateIT maps. */
  @Test
  void readsTheBuildersTemplate() throws IOException {
    OneTemplate t =
        OneTemplate.parse(
            new OpenNebulaTemplate("basalt", "0.1.0", "stable", 2_619_342_848L).render());
    assertEquals(
        List.of(
            "NAME",
            "DESCRIPTION",
            "HYPERVISOR",
            "MEMORY",
            "CPU",
            "VCPU",
            "OS",
            "DISK",
            "NIC_DEFAULT",
            "CONTEXT",
            "USER_INPUTS"),
        t.attributes().stream().map(OneTemplate.Attribute::name).toList());
    assertTrue(
        OpenNebulaTemplateIT.KNOWN.containsAll(
            t.attributes().stream().map(OneTemplate.Attribute::name).toList()));
    assertEquals("basalt-0.1.0", t.single("NAME"));
    assertEquals("2048", t.single("MEMORY"));
    assertEquals(
        Map.of("ARCH", "x86_64", "MACHINE", "q35", "FIRMWARE", "UEFI", "FIRMWARE_SECURE", "NO"),
        t.vector("OS"));
    assertEquals(
        Map.of("IMAGE", "basalt-0.1.0", "DEV_PREFIX", "vd", "DRIVER", "qcow2", "SIZE", "8192"),
        t.vector("DISK"));
    assertEquals(
        Map.of(
            "NETWORK",
            "YES",
            "SET_HOSTNAME",
            "$NAME",
            "SSH_PUBLIC_KEY",
            "$USER[SSH_PUBLIC_KEY]",
            "USER_DATA",
            "$USER_DATA",
            "USERDATA_ENCODING",
            "base64"),
        t.vector("CONTEXT"));
  }
}
