package io.basalt.update.cli;

import io.basalt.host.HostPaths;
import io.basalt.update.agent.AgentPaths;
import io.basalt.update.install.Esp;
import io.basalt.update.install.HostInfo;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code basaltctl rollback}: makes the other slot's entry the default by marking the running
 * slot's entry as out of tries ({@code +0-N}; systemd-boot sorts such entries last). Works without
 * the agent. Not thread-safe.
 */
@Command(
    name = "rollback",
    mixinStandardHelpOptions = true,
    description =
        "Make the other slot the default for the next boot (the running entry is marked as out of tries).")
final class RollbackCommand implements Callable<Integer> {

  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--esp",
      description =
          "ESP mount point (default: the first of /efi, /boot, /boot/efi with loader/entries).")
  Path esp;

  @Option(
      names = "--cmdline",
      defaultValue = HostPaths.PROC_CMDLINE,
      description = "Kernel command line file (default ${DEFAULT-VALUE}).")
  Path cmdline;

  @Override
  public Integer call() {
    var out = spec.commandLine().getOut();
    var err = spec.commandLine().getErr();
    try {
      HostInfo host = HostInfo.read(cmdline);
      if (host.live()) {
        err.println("basaltctl rollback: PXE live boot: there are no slots");
        return 1;
      }
      Esp boot = new Esp(esp != null ? esp : new AgentPaths(Path.of("/")).esp());
      String other = host.otherSlot().orElseThrow();
      List<Esp.Entry> target = boot.ofSlot(other).stream().filter(Esp.Entry::bootable).toList();
      if (target.isEmpty()) {
        err.println(
            "basaltctl rollback: slot "
                + other
                + " has no bootable entry in "
                + boot.entriesDir()
                + "; nothing to roll back to");
        return 1;
      }
      List<Esp.Entry> mine = boot.ofSlot(host.slot()).stream().filter(Esp.Entry::bootable).toList();
      for (Esp.Entry e : mine) {
        Path p = boot.markBad(e);
        out.println(
            "marked " + e.file().getFileName() + " as out of tries (" + p.getFileName() + ")");
      }
      Esp.Entry t = target.get(target.size() - 1);
      out.println(
          "next boot: "
              + t.version()
              + " (slot "
              + other
              + "); reboot to switch (systemctl reboot)");
      out.flush();
      return 0;
    } catch (IOException e) {
      err.println("basaltctl rollback: " + e.getMessage());
      return 1;
    }
  }
}
