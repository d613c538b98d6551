package io.basalt.qemu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.basalt.testing.QemuLongTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 19's OpenNebula acceptance: the build's {@code opennebula.tmpl} is read as OpenNebula reads
 * it ({@link OneTemplate}), a machine is made from what it names, the way OpenNebula's KVM driver
 * makes one (machine type, firmware, memory, vCPUs, the registered disk.qcow2 cloned and enlarged
 * to the DISK's SIZE on the bus its DEV_PREFIX names, a NIC of NIC_DEFAULT's model) with a CONTEXT
 * CD-ROM built the way OpenNebula builds it: the template's CONTEXT values with OpenNebula's
 * variables substituted ({@code $NAME}, {@code $USER[SSH_PUBLIC_KEY]}, the {@code USER_DATA} user
 * input as {@code onetemplate instantiate --user-inputs "USER_DATA=$(base64 -w0 FILE)"} delivers
 * it), the {@code ETH0_*} variables {@code NETWORK = "YES"} adds for the NIC's lease, written to
 * {@code context.sh} in single quotes on an ISO 9660 volume labelled {@code CONTEXT}. The machine
 * must come up with the lease's address, the VM name as host name, the USER_DATA's user logging in
 * with its key and {@code core} with the owner's key (a real {@code ssh} each, through a forward to
 * the lease address: it answers only if the context's network was applied), and ROOT grown into the
 * enlarged disk. An attribute the test does not know how to map fails it. One boot.
 */
@QemuLongTest(orWhenSet = "basalt.qemu.image")
class OpenNebulaTemplateIT {
  /** A first boot under TCG: ~4 min idle, over 10 min on a loaded machine. */
  static final Duration BOOT = Duration.ofMinutes(25);

  static final String VM_NAME = "basalt-one-1";
  static final String USER = "ops";
  static final String MAC = "02:00:0a:00:02:32";
  static final String LEASE = "10.0.2.50";

  /** Every top-level attribute the template may carry, each mapped below. */
  static final Set<String> KNOWN =
      Set.of(
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
          "USER_INPUTS");

  static Path image;
  static Path work;
  static OneTemplate template;
  static Path ownerKey;
  static Path userKey;

  @BeforeAll
  static void setUp() throws Exception {
    image = GuestImage.defaultImage();
    work = Path.of("target", "opennebula-it").toAbsolutePath();
    Files.createDirectories(work);
    Path file = image.resolve("opennebula.tmpl");
    if (!Files.isRegularFile(file)) {
      throw new IOException(file + ": missing (is opennebula in the spec's outputs?)");
    }
    template = OneTemplate.parse(Files.readString(file, StandardCharsets.UTF_8));
    ownerKey = keygen("owner");
    userKey = keygen("user-data");
  }

  static Path keygen(String name) throws Exception {
    Path k = work.resolve("id_" + name);
    Files.deleteIfExists(k);
    Files.deleteIfExists(work.resolve("id_" + name + ".pub"));
    Host.run(
        "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "one-" + name, "-f", k.toString());
    return k;
  }

  static String publicKey(Path key) throws IOException {
    return Files.readString(Path.of(key + ".pub")).trim();
  }

  @Test
  void theTemplatesMachineBootsWithItsContextAndBothKeysLogIn() throws Exception {
    Set<String> unknown = new TreeSet<>();
    template.attributes().forEach(a -> unknown.add(a.name()));
    unknown.removeAll(KNOWN);
    assertEquals(Set.of(), unknown, "attributes this test does not map to QEMU");
    assertEquals("kvm", template.single("HYPERVISOR"));
    String imageName = template.single("NAME");

    // onetemplate instantiate NAME --name VM_NAME --nic NET --user-inputs "USER_DATA=$(base64..)"
    String userData =
        String.join(
            "\n",
            "#cloud-config",
            "users:",
            "  - name: " + USER,
            "    gecos: from OpenNebula USER_DATA",
            "    ssh_authorized_keys:",
            "      - " + publicKey(userKey),
            "");
    String b64 = Base64.getEncoder().encodeToString(userData.getBytes(StandardCharsets.UTF_8));
    // The CLI takes the value after the first '=' up to the next one: base64's padding is lost.
    String userInput = ("USER_DATA=" + b64).split("=")[1];
    Map<String, String> userInputs = Map.of("USER_DATA", userInput);
    assertTrue(
        template.vector("USER_INPUTS").get("USER_DATA").matches("O\\|text64\\|[^|]*"),
        "USER_DATA: an optional text64 user input: " + template.vector("USER_INPUTS"));

    // The machine (OpenNebula's KVM driver through libvirt).
    Map<String, String> os = template.vector("OS");
    assertEquals("x86_64", os.get("ARCH"), "OS.ARCH: qemu-system-x86_64");
    assertEquals("UEFI", os.get("FIRMWARE"), "OS.FIRMWARE");
    assertEquals("NO", os.get("FIRMWARE_SECURE"), "OS.FIRMWARE_SECURE: OVMF without secure boot");
    Path vars = work.resolve("vars.fd");
    Files.copy(
        Path.of("/usr/share/OVMF/OVMF_VARS_4M.fd"), vars, StandardCopyOption.REPLACE_EXISTING);
    List<String> args =
        new ArrayList<>(
            List.of(
                "-machine",
                os.get("MACHINE"),
                "-m",
                template.single("MEMORY") + "M",
                "-smp",
                template.single("VCPU"),
                "-drive",
                "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
                "-drive",
                "if=pflash,format=raw,unit=1,file=" + vars));

    // DISK: the registered image (disk.qcow2) cloned and resized to SIZE MiB.
    Map<String, String> disk = template.vector("DISK");
    assertEquals(imageName, disk.get("IMAGE"), "DISK.IMAGE: the image registered from disk.qcow2");
    String format = disk.get("DRIVER");
    assertEquals("qcow2", format, "DISK.DRIVER");
    long sizeMib = Long.parseLong(disk.get("SIZE"));
    Path clone = work.resolve("disk0.qcow2");
    Files.deleteIfExists(clone);
    Host.run(
        "qemu-img",
        "create",
        "-q",
        "-f",
        "qcow2",
        "-F",
        format,
        "-b",
        image.resolve("disk.qcow2").toString(),
        clone.toString(),
        sizeMib + "M");
    assertEquals("vd", disk.get("DEV_PREFIX"), "DISK.DEV_PREFIX vd: a virtio disk");
    args.addAll(
        List.of(
            "-drive",
            "if=none,id=disk0,format=qcow2,file=" + clone,
            "-device",
            "virtio-blk-pci,drive=disk0,bootindex=0"));

    // NIC (--nic): NIC_DEFAULT's model, the lease's MAC; ssh forwarded to the lease's address.
    assertEquals("virtio", template.vector("NIC_DEFAULT").get("MODEL"), "NIC_DEFAULT.MODEL");
    int sshPort = Host.freePort();
    args.addAll(
        List.of(
            "-netdev",
            "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:" + sshPort + "-" + LEASE + ":22",
            "-device",
            "virtio-net-pci,netdev=n0,mac=" + MAC));

    // CONTEXT: OpenNebula's context CD-ROM (on q35 a SATA CD, DEV_PREFIX hd's bus).
    Map<String, String> context = contextVariables(template.vector("CONTEXT"), userInputs);
    Path iso = contextIso(context);
    args.addAll(
        List.of(
            "-drive",
            "if=none,id=ctx,media=cdrom,readonly=on,format=raw,file=" + iso,
            "-device",
            "ide-cd,drive=ctx"));

    long t0 = System.nanoTime();
    try (QemuVm vm = QemuVm.start("one", args, work.resolve("one.log"))) {
      vm.expect(0, BOOT, "basalt: multi-user reached", GuestImage.FAILURES);
      long up = System.nanoTime();
      String asUser = Host.ssh(userKey, USER, sshPort, "echo $(id -un) $(hostname)");
      String asCore =
          Host.ssh(
              ownerKey,
              "core",
              sshPort,
              "echo \"$(id -un);$(ip -4 -o addr show scope global | awk '{print $4}' | tr '\\n' ' ')"
                  + ";$(df -B1M --output=size / | tail -n 1 | tr -d ' ')"
                  + ";$(lsblk -ndo NAME,TYPE | awk '$2 == \"disk\" {print $1}' | tr '\\n' ' ')\"");
      System.out.printf(
          "OpenNebulaTemplateIT: multi-user %d s, ssh %d s after start; %s -> '%s', core -> '%s'%n",
          TimeUnit.NANOSECONDS.toSeconds(up - t0),
          TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0),
          USER,
          asUser,
          asCore);
      assertEquals(USER + " " + VM_NAME, asUser, "USER_DATA's user and SET_HOSTNAME\n" + vm.tail());
      String[] c = asCore.split(";", -1);
      assertEquals(4, c.length, "core's answer: " + asCore + "\n" + vm.tail());
      assertEquals("core", c[0], asCore);
      assertTrue(
          (" " + c[1]).contains(" " + LEASE + "/24 "),
          "the address from ETH0_IP/ETH0_MASK: " + c[1]);
      long rootMib = Long.parseLong(c[2]);
      assertTrue(
          rootMib > sizeMib - 3 * 1024,
          "ROOT grown into the " + sizeMib + " MiB disk: " + rootMib + " MiB");
      assertTrue((c[3] + " ").startsWith("vda "), "the disk on virtio (vda) first: " + c[3]);
    }
  }

  private static final Pattern VARIABLE = Pattern.compile("\\$(USER\\[([A-Z_]+)\\]|[A-Z_]+)");

  /**
   * The context.sh variables of the instantiated VM: CONTEXT's values with {@code $NAME}, {@code
   * $USER[SSH_PUBLIC_KEY]} and the user inputs substituted (any other variable fails the test),
   * {@code NETWORK = "YES"} expanded to the NIC's ETH0_ values, and the DISK_ID and TARGET
   * OpenNebula adds for the context disk itself.
   */
  static Map<String, String> contextVariables(
      Map<String, String> context, Map<String, String> userInputs) throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    out.put("DISK_ID", "1");
    for (Map.Entry<String, String> e : context.entrySet()) {
      if (e.getKey().equals("NETWORK")) {
        assertEquals("YES", e.getValue(), "CONTEXT.NETWORK");
        out.put("ETH0_DNS", "10.0.2.3");
        out.put("ETH0_GATEWAY", "10.0.2.2");
        out.put("ETH0_IP", LEASE);
        out.put("ETH0_MAC", MAC);
        out.put("ETH0_MASK", "255.255.255.0");
        out.put("ETH0_NETWORK", "10.0.2.0");
        out.put("ETH0_SEARCH_DOMAIN", "");
        out.put("NETWORK", "YES");
        continue;
      }
      Matcher m = VARIABLE.matcher(e.getValue());
      StringBuilder v = new StringBuilder();
      while (m.find()) {
        String name = m.group(1);
        String value;
        if (name.equals("NAME")) {
          value = VM_NAME;
        } else if (name.equals("USER[SSH_PUBLIC_KEY]")) {
          value = publicKey(ownerKey);
        } else if (userInputs.containsKey(name)) {
          value = userInputs.get(name);
        } else {
          throw new AssertionError(
              "CONTEXT." + e.getKey() + " uses $" + name + ", which this test does not provide");
        }
        m.appendReplacement(v, Matcher.quoteReplacement(value));
      }
      m.appendTail(v);
      out.put(e.getKey(), v.toString());
    }
    out.put("TARGET", "hda");
    return out;
  }

  /** context.sh as one-context reads it (single-quoted values) on an ISO labelled CONTEXT. */
  static Path contextIso(Map<String, String> vars) throws Exception {
    Path dir = work.resolve("context");
    CloudConfigDatasourcesIT.deleteTree(dir);
    Files.createDirectories(dir);
    StringBuilder sh = new StringBuilder("# Context variables generated by OpenNebula\n");
    for (Map.Entry<String, String> e : new java.util.TreeMap<>(vars).entrySet()) {
      sh.append(e.getKey()).append("='").append(e.getValue().replace("'", "'\\''")).append("'\n");
    }
    Files.writeString(dir.resolve("context.sh"), sh.toString());
    Path iso = work.resolve("context.iso");
    Host.configIso(dir, "CONTEXT", iso);
    return iso;
  }
}
