package io.basalt.image.tree;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The path order, checked against its definition (split into names, compare the UTF-8 bytes). */
class TreePathsTest {
  private static final String[] PIECES = {
    "a",
    "b",
    "ab",
    "-",
    ".",
    " ",
    "~",
    "é",
    "中",
    "\uE000",
    "\uFFFD",
    "\uD83D\uDE00",
    "\uD800\uDC00",
    "z0"
  };

  @Test
  void orderEqualsComponentWiseUtf8ByteOrder() {
    Random r = new Random(42);
    List<String> paths =
        new ArrayList<>(List.of("/", "/a", "/a/b", "/a-b", "/a.b", "/ab", "/a/b/c"));
    for (int i = 0; i < 400; i++) {
      StringBuilder s = new StringBuilder();
      int parts = 1 + r.nextInt(4);
      for (int p = 0; p < parts; p++) {
        s.append('/');
        int len = 1 + r.nextInt(3);
        for (int k = 0; k < len; k++) {
          s.append(PIECES[r.nextInt(PIECES.length)]);
        }
      }
      paths.add(s.toString());
    }
    for (String a : paths) {
      for (String b : paths) {
        assertEquals(
            Integer.signum(reference(a, b)),
            Integer.signum(TreePaths.ORDER.compare(a, b)),
            a + " vs " + b);
      }
      String name = a.substring(a.lastIndexOf('/') + 1);
      for (String b : paths) {
        String other = b.substring(b.lastIndexOf('/') + 1);
        assertEquals(
            Integer.signum(referenceNames(name, other)),
            Integer.signum(TreePaths.compareNames(name, other)),
            name + " vs " + other);
      }
    }
  }

  private static int reference(String a, String b) {
    String[] pa = a.equals("/") ? new String[0] : a.substring(1).split("/");
    String[] pb = b.equals("/") ? new String[0] : b.substring(1).split("/");
    for (int i = 0; i < Math.min(pa.length, pb.length); i++) {
      int c = referenceNames(pa[i], pb[i]);
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(pa.length, pb.length);
  }

  private static int referenceNames(String a, String b) {
    byte[] x = a.getBytes(StandardCharsets.UTF_8);
    byte[] y = b.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < Math.min(x.length, y.length); i++) {
      int c = Integer.compare(x[i] & 0xff, y[i] & 0xff);
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(x.length, y.length);
  }
}
