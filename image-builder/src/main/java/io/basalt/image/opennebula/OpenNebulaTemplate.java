package io.basalt.image.opennebula;

import java.util.Locale;
import java.util.Objects;

/**
 * The OpenNebula VM template (KVM) written next to a build's {@code disk.qcow2} as {@value #FILE}
 * (image-builder/README.md, "OpenNebula"): a q35 machine with UEFI firmware, the registered image
 * as a virtio disk enlarged to at least {@value #MIN_DISK_MIB} MiB (ROOT grows into it on first
 * boot), virtio NICs, and a {@code CONTEXT} section that hands the machine its network ({@code
 * NETWORK}), the owner's ssh key ({@code SSH_PUBLIC_KEY}), its name as host name and a
 * base64-encoded {@code #cloud-config} ({@code USER_DATA}, {@code USERDATA_ENCODING}) taken from a
 * user input at instantiation. Syntax per OpenNebula's template reference: {@code NAME = "value"},
 * vector attributes {@code NAME = [ A = "x", B = "y" ]}, double quotes and backslashes escaped with
 * a backslash, {@code #} comments. The text depends only on the fields. Immutable, thread-safe.
 *
 * @param name the image spec's name
 * @param version the image spec's version
 * @param channel the image spec's update channel
 * @param diskBytes the virtual size of disk.qcow2 in bytes
 */
public record OpenNebulaTemplate(String name, String version, String channel, long diskBytes) {
  /** The file name in the build folder. */
  public static final String FILE = "opennebula.tmpl";

  /** Guest memory: what a disk boot of the default image is tested with. */
  public static final int MEMORY_MIB = 2048;

  /** Virtual CPUs. */
  public static final int VCPU = 2;

  /** Least size of the instantiated disk: room for ROOT to grow into (containers, etcd). */
  public static final long MIN_DISK_MIB = 8192;

  private static final long MIB = 1L << 20;

  public OpenNebulaTemplate {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(channel, "channel");
    if (diskBytes <= 0) {
      throw new IllegalArgumentException("diskBytes must be positive, found " + diskBytes);
    }
  }

  /** The template's {@code NAME} and the image name its disk refers to: {@code name-version}. */
  public String imageName() {
    return name + "-" + version;
  }

  /** The disk's {@code SIZE} in MiB: the built disk rounded up to MiB, at least the minimum. */
  public long diskMib() {
    return Math.max(MIN_DISK_MIB, (diskBytes + MIB - 1) / MIB);
  }

  /** The template text (UTF-8, LF line ends). */
  public String render() {
    String image = imageName();
    StringBuilder t = new StringBuilder();
    t.append("# OpenNebula VM template for Basalt ")
        .append(version)
        .append(" (")
        .append(name)
        .append(", channel ")
        .append(channel)
        .append("), written by basalt build.\n")
        .append("# Register disk.qcow2 under the image name below, then this template:\n")
        .append("#   oneimage create --name ")
        .append(image)
        .append(" --path disk.qcow2 --format qcow2 --type OS --prefix vd --datastore default\n")
        .append("#   onetemplate create ")
        .append(FILE)
        .append('\n')
        .append("#   onetemplate instantiate ")
        .append(image)
        .append(" --name node-1 --nic NETWORK \\\n")
        .append("#     --user-inputs \"USER_DATA=$(base64 -w0 node-1.yml)\"\n")
        .append("# Reference: image-builder/README.md, \"OpenNebula\".\n");
    single(t, "NAME", image);
    single(
        t,
        "DESCRIPTION",
        "Basalt "
            + version
            + ": immutable container host; cloud-config from USER_DATA, ssh key from the owner");
    single(t, "HYPERVISOR", "kvm");
    single(t, "MEMORY", Integer.toString(MEMORY_MIB));
    single(t, "CPU", "1");
    single(t, "VCPU", Integer.toString(VCPU));
    vector(
        t, "OS", "ARCH", "x86_64", "MACHINE", "q35", "FIRMWARE", "UEFI", "FIRMWARE_SECURE", "NO");
    vector(
        t,
        "DISK",
        "IMAGE",
        image,
        "DEV_PREFIX",
        "vd",
        "DRIVER",
        "qcow2",
        "SIZE",
        Long.toString(diskMib()));
    vector(t, "NIC_DEFAULT", "MODEL", "virtio");
    vector(
        t,
        "CONTEXT",
        "NETWORK",
        "YES",
        "SET_HOSTNAME",
        "$NAME",
        "SSH_PUBLIC_KEY",
        "$USER[SSH_PUBLIC_KEY]",
        "USER_DATA",
        "$USER_DATA",
        "USERDATA_ENCODING",
        "base64");
    // OpenNebula's user input syntax: optional (O), type text64 (the value is base64-encoded when
    // entered interactively or in Sunstone), description. Three parts: the CLI refuses four.
    vector(
        t,
        "USER_INPUTS",
        "USER_DATA",
        "O|text64|cloud-config of this machine (base64 when given with --user-inputs)");
    return t.toString();
  }

  private static void single(StringBuilder t, String key, String value) {
    t.append(key).append(" = ").append(quote(value)).append('\n');
  }

  /** {@code KEY = [\n A = "x",\n B = "y" ]}: sub-attributes in the order given. */
  private static void vector(StringBuilder t, String key, String... pairs) {
    t.append(key).append(" = [");
    for (int i = 0; i < pairs.length; i += 2) {
      t.append(i == 0 ? "\n  " : ",\n  ")
          .append(pairs[i].toUpperCase(Locale.ROOT))
          .append(" = ")
          .append(quote(pairs[i + 1]));
    }
    t.append(" ]\n");
  }

  /** A double-quoted template string: {@code "} and {@code \} escaped with a backslash. */
  static String quote(String s) {
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }
}
