package io.basalt.image.fat;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs QEMU with OVMF on a serial console until systemd-boot shows its menu; for the OVMF ITs. */
public final class OvmfScreen {
  private OvmfScreen() {}

  /**
   * Runs {@code cmd} (a {@code qemu-system-x86_64 -nographic} command line) until the console shows
   * {@code title} and systemd-boot's countdown "Boot in 17 s.", QEMU exits or 240 s pass, then
   * kills QEMU.
   *
   * @return the console output, escape sequences replaced by spaces
   */
  public static String untilMenu(List<String> cmd, String title)
      throws IOException, InterruptedException {
    Process q = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Thread pump =
        new Thread(
            () -> {
              try (InputStream in = q.getInputStream()) {
                byte[] b = new byte[4096];
                int n;
                while ((n = in.read(b)) > 0) {
                  synchronized (out) {
                    out.write(b, 0, n);
                  }
                }
              } catch (IOException ignored) {
                // QEMU was killed
              }
            });
    pump.start();
    String screen = "";
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
      while (System.nanoTime() < deadline && q.isAlive()) {
        synchronized (out) {
          screen = out.toString(ISO_8859_1).replaceAll("\u001b\\[[0-9;=]*[A-Za-z]", " ");
        }
        if (screen.contains(title) && screen.contains("Boot in 17 s.")) {
          break;
        }
        Thread.sleep(500);
      }
    } finally {
      q.destroyForcibly();
      q.waitFor(30, TimeUnit.SECONDS);
      pump.join(10_000);
    }
    return screen;
  }
}
