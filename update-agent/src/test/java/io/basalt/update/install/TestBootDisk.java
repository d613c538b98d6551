package io.basalt.update.install;

import io.basalt.host.BootDisk;
import io.basalt.host.HostPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/** The boot disk record of the tests' fake machine: /dev/vda with USR-A on vda2, USR-B on vda3. */
public final class TestBootDisk {

  /** USR-A's PARTUUID. */
  public static final String USR_A = "aaaaaaaa-0000-0000-0000-00000000000a";

  /** USR-B's PARTUUID. */
  public static final String USR_B = "bbbbbbbb-0000-0000-0000-00000000000b";

  private static final String LINUX = "0fc63daf-8483-4772-8e79-3d69d8477de4";

  private TestBootDisk() {}

  /** The record. */
  public static BootDisk record() {
    return new BootDisk(
        "/dev/vda",
        OptionalLong.empty(),
        "11111111-2222-3333-4444-555555555555",
        List.of(
            new BootDisk.Part(
                "/dev/vda1",
                "eeeeeeee-0000-0000-0000-00000000000e",
                "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
                "EFI-SYSTEM"),
            new BootDisk.Part("/dev/vda2", USR_A, LINUX, "USR-A"),
            new BootDisk.Part("/dev/vda3", USR_B, LINUX, "USR-B")));
  }

  /** Writes {@link #record()} to the boot disk record under {@code root}. */
  public static void write(Path root) throws IOException {
    Path file = HostPaths.under(root, HostPaths.BOOT_DISK);
    Files.createDirectories(file.getParent());
    Files.writeString(file, record().format());
  }
}
