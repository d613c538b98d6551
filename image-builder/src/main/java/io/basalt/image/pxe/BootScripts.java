package io.basalt.image.pxe;

import io.basalt.host.KernelCommandLine;
import io.basalt.image.spec.PxeConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The iPXE scripts {@code basalt pxe serve} hands out: the chain script every machine loads first
 * (over TFTP or HTTP), and each machine's boot script, made from the build's {@code pxe/boot.ipxe}
 * with that machine's kernel arguments. Stateless, thread-safe.
 */
final class BootScripts {
  /** HTTP path of a machine's script; {@code ?mac=} names the machine. */
  static final String MACHINE_SCRIPT = "/pxe/boot.ipxe";

  /**
   * HTTP path prefix of the per-machine cloud-configs: {@code /machines/<mac>/cloud-config.yml}.
   */
  static final String MACHINES = "/machines/";

  static final String CLOUD_CONFIG_FILE = "cloud-config.yml";

  /** The build script's {@code basalt.live.base=${cwduri}}, which the server replaces. */
  private static final String CWDURI_BASE =
      KernelCommandLine.argument(KernelCommandLine.LIVE_BASE, "${cwduri}");

  private BootScripts() {}

  /**
   * The first script: chains to this machine's script on the HTTP server at {@code httpBase}
   * ({@code http://host:port/}), naming the machine by the MAC of the interface iPXE booted from.
   */
  static String chain(String httpBase) {
    return "#!ipxe\n"
        + "echo basalt pxe: ${mac} asks "
        + httpBase
        + " for its boot script\n"
        + "chain "
        + httpBase
        + MACHINE_SCRIPT.substring(1)
        + "?mac=${mac:hexhyp}\n";
  }

  /**
   * A machine's script: for live and install, the build's script with {@code
   * basalt.live.base=${cwduri}} made this server's {@code pxe/} URL and the machine's arguments
   * appended to its {@code kernel} line (its relative file names resolve against the script's own
   * URL, {@code .../pxe/}); for local, {@code exit} so the firmware boots the next device.
   *
   * @param buildScript the build's {@code pxe/boot.ipxe}
   * @param mac the machine's MAC, normalized ({@code 52:54:00:12:34:56})
   * @throws IllegalArgumentException when the build's script has not exactly one {@code kernel}
   *     line
   */
  static String machine(String buildScript, PxeConfig.Machine m, String httpBase, String mac) {
    if (m.mode() == PxeConfig.Mode.LOCAL) {
      return "#!ipxe\necho basalt pxe: " + mac + " boots from its local disk\nexit\n";
    }
    List<String> extra = arguments(m, httpBase, mac);
    StringBuilder out = new StringBuilder();
    int kernels = 0;
    for (String line : buildScript.split("\n", -1)) {
      if (line.startsWith("kernel ")) {
        kernels++;
        // iPXE before 1.21 (QEMU's ROMs, many NICs') has no ${cwduri}: name the folder outright
        line =
            line.replace(
                CWDURI_BASE,
                KernelCommandLine.argument(KernelCommandLine.LIVE_BASE, httpBase + "pxe/"));
        if (!extra.isEmpty()) {
          line = line.stripTrailing() + " " + String.join(" ", extra);
        }
      }
      out.append(line).append('\n');
    }
    if (kernels != 1) {
      throw new IllegalArgumentException(
          "pxe/boot.ipxe: expected one 'kernel' line, found " + kernels);
    }
    // split(-1) kept the text after the last newline: drop the one newline added to it
    out.setLength(out.length() - 1);
    return out.toString();
  }

  /** The kernel arguments the server adds for a machine, in order. */
  static List<String> arguments(PxeConfig.Machine m, String httpBase, String mac) {
    List<String> a = new ArrayList<>();
    String cloudConfigUrl =
        m.cloudConfig() == null ? null : httpBase + cloudConfigPath(mac).substring(1);
    if (m.mode() == PxeConfig.Mode.INSTALL) {
      a.add(KernelCommandLine.argument(KernelCommandLine.INSTALL_DEV, m.installDevice()));
      a.add(KernelCommandLine.argument(KernelCommandLine.INSTALL_SOURCE, httpBase + "update/"));
      if (cloudConfigUrl != null) {
        a.add(KernelCommandLine.argument(KernelCommandLine.INSTALL_CLOUD_CONFIG, cloudConfigUrl));
      }
      if (m.reboot()) {
        a.add(KernelCommandLine.INSTALL_REBOOT);
      }
    } else if (cloudConfigUrl != null) {
      a.add(KernelCommandLine.argument(KernelCommandLine.CLOUD_CONFIG_URL, cloudConfigUrl));
      if (cloudConfigUrl.startsWith("http://")) {
        a.add(KernelCommandLine.argument(KernelCommandLine.CLOUD_CONFIG_URL_INSECURE, "1"));
      }
    }
    a.addAll(m.kernelArgs());
    return a;
  }

  /** {@code /machines/52-54-00-12-34-56/cloud-config.yml}. */
  static String cloudConfigPath(String mac) {
    return MACHINES + mac.replace(':', '-') + "/" + CLOUD_CONFIG_FILE;
  }
}
