package io.basalt.image.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DeltaCommandTest {

  private static byte[] random(long seed, int n) {
    byte[] b = new byte[n];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < n; i++) {
      b[i] = (byte) r.nextInt(256);
    }
    return b;
  }

  private static String[] run(DeltaCommand.Plan plan, boolean json) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(plan);
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    plan.spec = cl.getCommandSpec();
    plan.json = json;
    int rc = plan.call();
    return new String[] {Integer.toString(rc), out.toString(), err.toString()};
  }

  @Test
  void plansTheMissingChunksOfAChangedImage() throws Exception {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      byte[] old = random(1, 4 << 20);
      byte[] neu = old.clone();
      // one 100 KiB region rewritten in the middle
      System.arraycopy(random(2, 100 << 10), 0, neu, 2 << 20, 100 << 10);
      Path oldImg = fs.getPath("/old.img");
      Files.write(oldImg, old);
      Path build = fs.getPath("/build");
      Files.createDirectories(build);
      Files.write(build.resolve("usr.img"), neu);
      DeltaCommand.Plan plan = new DeltaCommand.Plan();
      plan.from = oldImg;
      plan.to = build;
      String[] r = run(plan, true);
      assertEquals("0", r[0], r[2]);
      JsonNode j = new ObjectMapper().readTree(r[1]);
      long fetch = j.get("fetch_bytes").asLong();
      assertEquals(neu.length, j.get("total_bytes").asLong());
      assertEquals(neu.length, fetch + j.get("reuse_bytes").asLong());
      assertEquals(0, j.get("rebuild_bytes").asLong(), "not a verity image: nothing rebuilt");
      // the rewritten region plus at most one 256 KiB chunk on each side
      assertTrue(fetch >= 100 << 10 && fetch <= (100 << 10) + (512 << 10), "fetch " + fetch);
      assertTrue(j.get("index_bytes").asLong() > 0);
      assertEquals(65536, j.get("chunker").get("avg").asInt());

      plan.from = build.resolve("usr.img");
      r = run(plan, false);
      assertEquals("0", r[0], r[2]);
      assertTrue(r[1].startsWith("fetch   0 bytes in 0 of "), r[1]);
    }
  }

  @Test
  void aMissingImageIsAUsageError() throws Exception {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      DeltaCommand.Plan plan = new DeltaCommand.Plan();
      plan.from = fs.getPath("/old.img");
      plan.to = fs.getPath("/nothing");
      String[] r = run(plan, true);
      assertEquals("2", r[0]);
      assertEquals("basalt delta plan: /old.img: no such file\n", r[2]);
    }
  }
}
