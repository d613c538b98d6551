package io.basalt.update.bench;

import io.basalt.update.lock.EtcdClient;
import io.basalt.update.lock.EtcdConfig;
import io.basalt.update.lock.RebootLock;
import io.basalt.update.lock.RetryPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

/**
 * Child JVM for the memory figure: {@code baseline} idles; {@code jackson} reads and writes JSON
 * with Jackson first (the agent loads it anyway for TUF); {@code client ENDPOINT} creates one
 * client, does 200 lock+unlock cycles and idles holding it. Then both print their resident set
 * size (VmRSS) and heap in use after a GC.
 */
public final class MemoryProbe {
  public static void main(String[] args) throws Exception {
    Object keep = null;
    if (args[0].equals("jackson")) {
      // what the agent loads anyway for TUF metadata: Jackson reading and writing JSON
      com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
      for (int i = 0; i < 200; i++) {
        byte[] b = m.writeValueAsBytes(m.readTree("{\"semaphore\":" + i + ",\"max\":2,\"holders\":[\"a\"]}"));
        keep = b;
      }
    }
    if (args[0].equals("client")) {
      EtcdClient c = EtcdClient.create(EtcdConfig.builder().endpoint(args[1]).build());
      RebootLock lock = new RebootLock(c, "memory", Clock.systemUTC(), RetryPolicy.defaults());
      for (int i = 0; i < 200; i++) {
        lock.tryLock("probe");
        lock.unlock("probe");
      }
      keep = lock;
    }
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(300);
    }
    Runtime rt = Runtime.getRuntime();
    long heap = rt.totalMemory() - rt.freeMemory();
    long rssKb = 0;
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        rssKb = Long.parseLong(List.of(line.split("\\s+")).get(1));
      }
    }
    System.out.println(rssKb + " " + heap + " " + args[0]);
  }

  private MemoryProbe() {}
}
