package io.basalt.host;

import java.nio.file.Path;

/**
 * Where things are on a running Basalt host (absolute paths inside the image, not on the machine
 * running the build): defaults under {@code /usr/share/basalt}, machine overrides under {@code
 * /etc/basalt}, agent state under {@code /var/lib/basalt}, runtime files under {@code /run/basalt}.
 * Stateless, thread-safe.
 */
public final class HostPaths {

  /** The agents' jars and the Java runtime they run on. */
  public static final String LIB = "/usr/lib/basalt";

  /** Defaults shipped in the image. */
  public static final String SHARE = "/usr/share/basalt";

  /** Machine overrides of the defaults. */
  public static final String ETC = "/etc/basalt";

  /** Agent state: trusted TUF metadata, downloads, history. */
  public static final String STATE = "/var/lib/basalt";

  /** Runtime files: datasource mounts, the status socket. */
  public static final String RUN = "/run/basalt";

  /** The update agent's defaults. */
  public static final String UPDATE_CONF_DEFAULTS = SHARE + "/update.conf";

  /** The machine's update agent settings (cloud-config writes it). */
  public static final String UPDATE_CONF = ETC + "/update.conf";

  /**
   * The machine's Docker Swarm settings ({@link SwarmConf}): cloud-config writes it from {@code
   * basalt.swarm}, {@code basaltctl swarm join} reads it.
   */
  public static final String SWARM_CONF = ETC + "/swarm.conf";

  /**
   * The etcd member's settings ({@code Environment="ETCD_*=..."} lines): cloud-config writes it
   * from {@code coreos.etcd2}, {@code basaltctl status} reads the member's client URLs from it.
   */
  public static final String ETCD_MEMBER_DROP_IN =
      "/run/systemd/system/etcd.service.d/20-cloudinit.conf";

  /** The initial trusted TUF root shipped in the image. */
  public static final String SHIPPED_TUF_ROOT = SHARE + "/root.json";

  /** The image's default {@code /etc}, copied on first boot. */
  public static final String ETC_DEFAULTS = SHARE + "/etc";

  /** The initramfs' module list, one loader per line. */
  public static final String MODULES_LOAD = ETC + "/modules.load";

  /** Markers of fully verified slots, one file per /usr root hash. */
  public static final String VERIFIED = STATE + "/verified";

  /** The agent's trusted TUF metadata. */
  public static final String TUF_STATE = STATE + "/tuf";

  /** The agent's downloads. */
  public static final String DOWNLOADS = STATE + "/downloads";

  /** The update agent's status socket. */
  public static final String STATUS_SOCKET = RUN + "/update-agent.sock";

  /**
   * The initramfs' record of the disk this machine booted from ({@link BootDisk}); absent on a live
   * (PXE) boot.
   */
  public static final String BOOT_DISK = RUN + "/boot-disk";

  /**
   * The OEM partition (FAT, label OEM) of the boot disk ({@link #BOOT_DISK}; on a live boot the
   * first disk labelled OEM), mounted read-only.
   */
  public static final String OEM_MOUNT = RUN + "/oem";

  /** A config drive (ISO9660, label config-2), mounted read-only. */
  public static final String CONFIG_DRIVE_MOUNT = RUN + "/config-2";

  /** An OpenNebula context disk (ISO9660, label CONTEXT), mounted read-only. */
  public static final String CONTEXT_MOUNT = RUN + "/context";

  /** The cloud-config file on the OEM partition. */
  public static final String OEM_CLOUD_CONFIG = OEM_MOUNT + "/cloud-config.yml";

  /** The machine's local cloud-config, the last datasource. */
  public static final String LOCAL_CLOUD_CONFIG = ETC + "/cloud-config.yml";

  /** Where cloud-config keeps the scripts it ran. */
  public static final String CLOUD_CONFIG_SCRIPTS = STATE + "/cloud-config/scripts";

  /** Per-boot markers of cloud-config scripts. */
  public static final String CLOUD_CONFIG_SCRIPT_MARKERS = RUN + "/cloud-config/scripts";

  /** The kernel command line of the running system. */
  public static final String PROC_CMDLINE = "/proc/cmdline";

  /**
   * systemd-boot's {@code LoaderBootCountPath} EFI variable: present when the loader booted an
   * entry with a boot counter; its value (after 4 attribute bytes, UTF-16LE) is that entry file's
   * path on the ESP, e.g. {@code \loader\entries\basalt-2.0.0-B+2-1.conf}, as it was named at boot.
   */
  public static final String LOADER_BOOT_COUNT_PATH =
      "/sys/firmware/efi/efivars/LoaderBootCountPath-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

  /**
   * systemd-boot's {@code LoaderDevicePartUUID} EFI variable: the PARTUUID of the ESP the loader
   * was started from (after 4 attribute bytes, UTF-16LE, upper case); tells the initramfs which
   * disk the machine booted from.
   */
  public static final String LOADER_DEVICE_PART_UUID =
      "/sys/firmware/efi/efivars/LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";

  private HostPaths() {}

  /**
   * A host path under {@code root} ({@code /} on a host; a temp or jimfs folder in tests).
   *
   * @throws IllegalArgumentException when {@code hostPath} is not absolute
   */
  public static Path under(Path root, String hostPath) {
    if (!hostPath.startsWith("/")) {
      throw new IllegalArgumentException("host path must be absolute, found " + hostPath);
    }
    return root.resolve(hostPath.substring(1));
  }
}
