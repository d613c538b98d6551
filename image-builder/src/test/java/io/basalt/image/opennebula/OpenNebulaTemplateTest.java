package io.basalt.image.opennebula;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.image.api.ImagePlan;
import io.basalt.image.pipeline.BuildPipeline;
import io.basalt.image.spec.ImageSpec;
import io.basalt.image.spec.SpecException;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class OpenNebulaTemplateTest {
  private static final long MIB = 1L << 20;

  /** The whole text for the default image's disk size: the format, reviewed line by line. */
  @Test
  void defaultImageTemplateText() {
    String expected =
        String.join(
            "\n",
            "# OpenNebula VM template for Basalt 0.1.0 (basalt, channel stable), written by basalt"
                + " build.",
            "# Register disk.qcow2 under the image name below, then this template:",
            "#   oneimage create --name basalt-0.1.0 --path disk.qcow2 --format qcow2 --type OS"
                + " --prefix vd --datastore default",
            "#   onetemplate create opennebula.tmpl",
            "#   onetemplate instantiate basalt-0.1.0 --name node-1 --nic NETWORK \\",
            "#     --user-inputs \"USER_DATA=$(base64 -w0 node-1.yml)\"",
            "# Reference: image-builder/README.md, \"OpenNebula\".",
            "NAME = \"basalt-0.1.0\"",
            "DESCRIPTION = \"Basalt 0.1.0: immutable container host; cloud-config from USER_DATA,"
                + " ssh key from the owner\"",
            "HYPERVISOR = \"kvm\"",
            "MEMORY = \"2048\"",
            "CPU = \"1\"",
            "VCPU = \"2\"",
            "OS = [",
            "  ARCH = \"x86_64\",",
            "  MACHINE = \"q35\",",
            "  FIRMWARE = \"UEFI\",",
            "  FIRMWARE_SECURE = \"NO\" ]",
            "DISK = [",
            "  IMAGE = \"basalt-0.1.0\",",
            "  DEV_PREFIX = \"vd\",",
            "  DRIVER = \"qcow2\",",
            "  SIZE = \"8192\" ]",
            "NIC_DEFAULT = [",
            "  MODEL = \"virtio\" ]",
            "CONTEXT = [",
            "  NETWORK = \"YES\",",
            "  SET_HOSTNAME = \"$NAME\",",
            "  SSH_PUBLIC_KEY = \"$USER[SSH_PUBLIC_KEY]\",",
            "  USER_DATA = \"$USER_DATA\",",
            "  USERDATA_ENCODING = \"base64\" ]",
            "USER_INPUTS = [",
            "  USER_DATA = \"O|text64|cloud-config of this machine (base64 when given with"
                + " --user-inputs)\" ]",
            "");
    ImagePlan plan = BuildPipeline.plan(ImageSpec.loadDefault(), OptionalLong.of(1_700_000_000L));
    long disk = plan.disk().orElseThrow().sizeBytes();
    assertEquals(expected, new OpenNebulaTemplate("basalt", "0.1.0", "stable", disk).render());
  }

  @Test
  void diskSizeIsTheBuiltDiskRoundedUpToMibAndAtLeastEightGib() {
    assertEquals(8192, new OpenNebulaTemplate("b", "1", "s", 2_619_342_848L).diskMib());
    assertEquals(8192, new OpenNebulaTemplate("b", "1", "s", 8192 * MIB).diskMib());
    assertEquals(8193, new OpenNebulaTemplate("b", "1", "s", 8192 * MIB + 1).diskMib());
    assertEquals(20480, new OpenNebulaTemplate("b", "1", "s", 20 * 1024 * MIB).diskMib());
    assertThrows(IllegalArgumentException.class, () -> new OpenNebulaTemplate("b", "1", "s", 0));
  }

  @Test
  void namesAreTheSpecsNameAndVersionAndTheTextIsTheSameEveryTime() {
    OpenNebulaTemplate t = new OpenNebulaTemplate("edge-node", "2.1.0+b3", "beta", 3L << 30);
    assertEquals("edge-node-2.1.0+b3", t.imageName());
    String text = t.render();
    assertTrue(text.contains("\nNAME = \"edge-node-2.1.0+b3\"\n"), text);
    assertTrue(text.contains("\n  IMAGE = \"edge-node-2.1.0+b3\",\n"), text);
    assertTrue(text.contains("(edge-node, channel beta)"), text);
    assertEquals(text, new OpenNebulaTemplate("edge-node", "2.1.0+b3", "beta", 3L << 30).render());
  }

  @Test
  void quotesAndBackslashesAreEscapedAsTheTemplateSyntaxSays() {
    assertEquals("\"a\\\"b\\\\c\"", OpenNebulaTemplate.quote("a\"b\\c"));
    assertEquals("\"$USER[SSH_PUBLIC_KEY]\"", OpenNebulaTemplate.quote("$USER[SSH_PUBLIC_KEY]"));
  }

  @Test
  void theTemplateIsADefaultOutputAndNeedsTheQcow2() throws Exception {
    ImagePlan plan = BuildPipeline.plan(ImageSpec.loadDefault(), OptionalLong.empty());
    assertTrue(
        plan.artifactPaths().contains(OpenNebulaTemplate.FILE), plan.artifactPaths()::toString);

    ImagePlan without =
        BuildPipeline.plan(
            ImageSpec.parse("outputs: [disk.raw, disk.qcow2]\n", "s.yaml", null),
            OptionalLong.empty());
    assertEquals(List.of("disk.qcow2", "disk.raw", "manifest.json"), without.artifactPaths());

    SpecException e =
        assertThrows(
            SpecException.class,
            () -> ImageSpec.parse("outputs:\n  - disk.raw\n  - opennebula\n", "s.yaml", null));
    assertEquals(3, e.line());
    assertEquals(
        "outputs[1]: \"opennebula\" needs \"disk.qcow2\" in the outputs too (the template's disk"
            + " image)",
        e.detail());
  }
}
