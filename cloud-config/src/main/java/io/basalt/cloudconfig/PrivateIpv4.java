package io.basalt.cloudconfig;

import io.basalt.host.IpAddresses;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The value of {@code $private_ipv4} on a machine whose datasource gives none (the OEM partition,
 * {@code /etc/basalt/cloud-config.yml}, a URL): the machine's own private address, taken first from
 * the config's own networkd units ({@code Address=} in a {@code .network} unit of {@code
 * coreos.units}), then from the host's interfaces (the first RFC 1918 IPv4 address on an interface
 * that is up). The networkd unit wins because cloud-config runs before networkd has applied it: the
 * address the operator wrote is the one the machine is about to have, while an interface that is
 * already up may be another network entirely (QEMU's user-mode uplink is 10.0.2.15, a DHCP lease on
 * a management LAN), and an etcd member must never advertise that address, since etcd stores a new
 * member's peer URLs in the cluster for good. Stateless and thread-safe.
 */
public final class PrivateIpv4 {

  private PrivateIpv4() {}

  /**
   * One network interface as the choice sees it.
   *
   * @param name interface name (eth0, ens3)
   * @param index kernel interface index (the order interfaces are looked at)
   * @param up whether the interface is up
   * @param loopback whether it is a loopback interface
   * @param ipv4 its IPv4 addresses, dotted decimal
   */
  public record Interface(String name, int index, boolean up, boolean loopback, List<String> ipv4) {
    public Interface {
      ipv4 = List.copyOf(ipv4);
    }
  }

  /**
   * Where a value came from.
   *
   * @param address the address
   * @param source a phrase for the log, e.g. {@code coreos.units[1] (10-private.network)}
   */
  public record Found(String address, String source) {}

  /** Interface name prefixes of container and VM bridges, never the machine's own address. */
  private static final List<String> VIRTUAL =
      List.of("docker", "br-", "veth", "virbr", "cni", "flannel", "vxlan", "tun", "tap");

  /**
   * The first RFC 1918 IPv4 address in an {@code Address=} line ({@code [Network]} or {@code
   * [Address]} section) of {@code config}'s {@code .network} units, content then drop-ins, in
   * order; null when there is none.
   */
  public static Found fromNetworkUnits(CloudConfig config) {
    List<CloudConfig.Unit> units = config.coreos().units();
    for (int i = 0; i < units.size(); i++) {
      CloudConfig.Unit u = units.get(i);
      if (!u.name().endsWith(".network") || u.mask()) {
        continue;
      }
      List<String> texts = new ArrayList<>();
      texts.add(u.content());
      u.dropIns().forEach(d -> texts.add(d.content()));
      for (String text : texts) {
        String a = firstAddress(text);
        if (a != null) {
          return new Found(a, "coreos.units[" + i + "] (" + u.name() + ")");
        }
      }
    }
    return null;
  }

  /** The first private IPv4 of an {@code Address=} line in a unit's text, or null. */
  static String firstAddress(String unit) {
    if (unit == null) {
      return null;
    }
    String section = "";
    for (String raw : unit.split("\n")) {
      String line = raw.strip();
      if (line.startsWith("[") && line.endsWith("]")) {
        section = line.substring(1, line.length() - 1).strip();
        continue;
      }
      if (!section.equals("Network") && !section.equals("Address")) {
        continue;
      }
      int eq = line.indexOf('=');
      if (eq < 0 || !line.substring(0, eq).strip().equals("Address")) {
        continue;
      }
      // Address= takes one address with an optional prefix length; [Network] may list several.
      for (String word : line.substring(eq + 1).strip().split("\\s+")) {
        int slash = word.indexOf('/');
        String a = slash < 0 ? word : word.substring(0, slash);
        if (IpAddresses.isPrivateIpv4(a)) {
          return a;
        }
      }
    }
    return null;
  }

  /**
   * The first RFC 1918 IPv4 address on an interface that is up and is not a loopback or a container
   * or VM bridge (docker0, br-*, veth*, virbr*, ...), interfaces in index order; null when there is
   * none.
   */
  public static Found fromInterfaces(List<Interface> interfaces) {
    List<Interface> sorted = new ArrayList<>(interfaces);
    sorted.sort(Comparator.comparingInt(Interface::index));
    for (Interface i : sorted) {
      if (!i.up() || i.loopback() || isVirtual(i.name())) {
        continue;
      }
      for (String a : i.ipv4()) {
        if (IpAddresses.isPrivateIpv4(a)) {
          return new Found(a, "interface " + i.name());
        }
      }
    }
    return null;
  }

  private static boolean isVirtual(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return VIRTUAL.stream().anyMatch(n::startsWith);
  }

  /** This host's interfaces; empty when they cannot be listed. */
  public static List<Interface> hostInterfaces() {
    List<Interface> out = new ArrayList<>();
    try {
      Enumeration<NetworkInterface> all = NetworkInterface.getNetworkInterfaces();
      while (all != null && all.hasMoreElements()) {
        NetworkInterface n = all.nextElement();
        List<String> v4 = new ArrayList<>();
        for (Enumeration<InetAddress> e = n.getInetAddresses(); e.hasMoreElements(); ) {
          InetAddress a = e.nextElement();
          if (a instanceof Inet4Address) {
            v4.add(a.getHostAddress());
          }
        }
        out.add(new Interface(n.getName(), n.getIndex(), n.isUp(), n.isLoopback(), v4));
      }
    } catch (SocketException e) {
      return List.of();
    }
    return out;
  }

  /**
   * {@code metadata} with {@code $private_ipv4} filled in when it has none and {@code userData}
   * uses it: from the config's networkd units, else from {@code interfaces} (pass an empty list on
   * a machine other than the one the config is for). Returns null when nothing was filled in.
   */
  public static Found resolve(
      String userData,
      Metadata metadata,
      ValidationOptions options,
      Supplier<List<Interface>> interfaces) {
    if (metadata.privateIpv4() != null && !metadata.privateIpv4().isEmpty()
        || !userData.contains("$private_ipv4")) {
      return null;
    }
    UserData ud = UserDataParser.parse(metadata.substitute(userData), options);
    Found f = ud.config() == null ? null : fromNetworkUnits(ud.config());
    return f != null ? f : fromInterfaces(interfaces.get());
  }

  /** {@code metadata} with {@code privateIpv4} set to {@code address}. */
  public static Metadata with(Metadata metadata, String address) {
    return new Metadata(
        metadata.publicIpv4(),
        address,
        metadata.publicIpv6(),
        metadata.privateIpv6(),
        metadata.hostname(),
        metadata.sshPublicKeys(),
        metadata.networkUnits());
  }
}
