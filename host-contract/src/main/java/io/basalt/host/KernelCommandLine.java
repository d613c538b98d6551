package io.basalt.host;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The kernel command-line keys of the boot contract, as the builder and the agent write them and
 * the initramfs {@code /init}, {@code libexec/} and the Java side read them; the order of a slot's
 * arguments; and parsing of a command line. Stateless, thread-safe.
 */
public final class KernelCommandLine {

  /** {@code mount.usr=PARTUUID=<uuid>}: the USR slot partition of a disk boot. */
  public static final String MOUNT_USR = "mount.usr";

  /** The prefix of the {@link #MOUNT_USR} value. */
  public static final String PARTUUID = "PARTUUID=";

  /** {@code usrhash=<hex>}: the dm-verity root hash /usr is opened against. */
  public static final String USR_HASH = "usrhash";

  /** {@code basalt.usr.hashoffset=<bytes>}: where the verity hash tree starts in the slot. */
  public static final String USR_HASH_OFFSET = "basalt.usr.hashoffset";

  /** {@code basalt.slot=A|B}: the slot a disk boot runs from. */
  public static final String SLOT = "basalt.slot";

  /** {@code basalt.version=<version>}: the image version booted. */
  public static final String VERSION = "basalt.version";

  /**
   * {@code basalt.live} (flag): live boot (PXE, ISO): /usr held in RAM (from the initramfs, or
   * fetched into RAM over the network), ROOT on tmpfs, no slots.
   */
  public static final String LIVE = "basalt.live";

  /**
   * {@code basalt.live.base=<url>}: the folder (http or tftp URL) a PXE live boot fetches {@code
   * usr.img} from; {@code pxe/boot.ipxe} passes iPXE's {@code ${cwduri}}, the folder of the script.
   */
  public static final String LIVE_BASE = "basalt.live.base";

  /** {@code basalt.live.usr=<url>}: the URL of a PXE live boot's {@code usr.img}, if elsewhere. */
  public static final String LIVE_USR = "basalt.live.usr";

  /** {@code basalt.devwait=<seconds>}: how long the initramfs waits for devices. */
  public static final String DEV_WAIT = "basalt.devwait";

  /** {@code basalt.usr.verify=full|first|lazy}: how much of the slot the initramfs checks. */
  public static final String USR_VERIFY = "basalt.usr.verify";

  /** {@code basalt.break} (flag): emergency shell just before switch_root. */
  public static final String BREAK = "basalt.break";

  /** {@code basalt.initramfs.verbose} (flag): the initramfs shows its commands' output. */
  public static final String INITRAMFS_VERBOSE = "basalt.initramfs.verbose";

  /** {@code basalt.testhook} (flag): run the OEM partition's test hook (test images). */
  public static final String TEST_HOOK = "basalt.testhook";

  /** {@code cloud-config-url=<url>}: user-data fetched over HTTP(S). */
  public static final String CLOUD_CONFIG_URL = "cloud-config-url";

  /**
   * {@code basalt.cloud-config-url.insecure=1} (or the bare flag): accept a plain {@code http://}
   * {@link #CLOUD_CONFIG_URL}; without it only https is fetched.
   */
  public static final String CLOUD_CONFIG_URL_INSECURE = "basalt.cloud-config-url.insecure";

  /**
   * {@code basalt.install.dev=/dev/X}: a live boot installs Basalt to this whole disk, unattended,
   * through the same flow as {@code basalt install}. Nothing is written without it.
   */
  public static final String INSTALL_DEV = "basalt.install.dev";

  /**
   * {@code basalt.install.source=<url>}: where an unattended install takes the image from: an
   * http(s) URL of a build's {@code update/} directory (as {@code basalt pxe serve} serves it).
   */
  public static final String INSTALL_SOURCE = "basalt.install.source";

  /** {@code basalt.install.cloud-config=<url>}: a cloud-config the install puts on OEM. */
  public static final String INSTALL_CLOUD_CONFIG = "basalt.install.cloud-config";

  /** {@code basalt.install.reboot} (flag): reboot into the installed disk when done. */
  public static final String INSTALL_REBOOT = "basalt.install.reboot";

  /** Added by boot loaders, never carried over to a new entry. */
  public static final String LOADER_INITRD = "initrd";

  /** Added by boot loaders, never carried over to a new entry. */
  public static final String LOADER_BOOT_IMAGE = "BOOT_IMAGE";

  private KernelCommandLine() {}

  /**
   * The slot-specific arguments of a disk boot, in the order every entry carries them: {@code
   * mount.usr}, {@code usrhash}, {@code basalt.usr.hashoffset}, {@code basalt.slot}, {@code
   * basalt.version}.
   *
   * @param usrPartUuid the slot partition's PARTUUID (lower-case)
   * @param rootHash the slot's dm-verity root hash (hex)
   * @param hashOffset byte offset of the verity hash tree in the slot
   * @return key to value, in order
   */
  public static Map<String, String> slotArguments(
      String usrPartUuid, String rootHash, long hashOffset, String slot, String version) {
    Map<String, String> a = new LinkedHashMap<>();
    a.put(MOUNT_USR, PARTUUID + usrPartUuid);
    a.put(USR_HASH, rootHash);
    a.put(USR_HASH_OFFSET, Long.toString(hashOffset));
    a.put(SLOT, slot);
    a.put(VERSION, version);
    return a;
  }

  /**
   * The arguments of a PXE live boot, in order: {@code basalt.live}, {@code usrhash}, {@code
   * basalt.usr.hashoffset}, {@code basalt.version}; a flag maps to null.
   */
  public static Map<String, String> liveArguments(
      String rootHash, long hashOffset, String version) {
    Map<String, String> a = new LinkedHashMap<>();
    a.put(LIVE, null);
    a.put(USR_HASH, rootHash);
    a.put(USR_HASH_OFFSET, Long.toString(hashOffset));
    a.put(VERSION, version);
    return a;
  }

  /** One argument: {@code key=value}, or {@code key} alone when {@code value} is null. */
  public static String argument(String key, String value) {
    return value == null ? key : key + "=" + value;
  }

  /**
   * A command line as key to value (flags map to ""), later occurrences winning, in first-seen
   * order.
   */
  public static Map<String, String> parse(String cmdline) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String w : cmdline.strip().split("\\s+")) {
      if (w.isEmpty()) {
        continue;
      }
      out.put(key(w), w.indexOf('=') < 0 ? "" : w.substring(w.indexOf('=') + 1));
    }
    return out;
  }

  /** The key of one argument: what comes before the first {@code =}, or the whole word. */
  public static String key(String argument) {
    int eq = argument.indexOf('=');
    return eq < 0 ? argument : argument.substring(0, eq);
  }
}
