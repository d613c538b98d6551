package io.basalt.signing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CanonicalJsonTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String canon(String json) throws Exception {
    return new String(CanonicalJson.encode(CanonicalJson.parse(b(json))), StandardCharsets.UTF_8);
  }

  @Test
  void sortsKeysAndDropsWhitespace() throws Exception {
    assertEquals("{\"a\":[1,true,false,null],\"b\":{\"c\":\"d\"},\"z\":-5}",
        canon("{ \"z\": -5, \"b\" : {\"c\":\"d\"},\n \"a\": [1, true, false, null] }"));
  }

  @Test
  void sortsByCodePointNotUtf16Unit() throws Exception {
    // U+1F600 (surrogates D83D DE00) sorts after U+FF21 by code point, before it by UTF-16 unit.
    String json = "{\"\uD83D\uDE00\":1,\"\uFF21\":2}";
    assertEquals("{\"\uFF21\":2,\"\uD83D\uDE00\":1}", canon(json));
  }

  @Test
  void codePointOrderMatchesComparingCodePointSequences() {
    // Characters around the surrogate range and astral code points, in every combination.
    String[] alphabet = {"a", "z", "\u00e9", "\uD7FF", "\uE000", "\uFF21", "\uFFFF", "\uD800\uDC00",
        "\uD83D\uDE00", "\uDBFF\uDFFF"};
    java.util.Random rnd = new java.util.Random(4);
    for (int n = 0; n < 20_000; n++) {
      StringBuilder x = new StringBuilder();
      StringBuilder y = new StringBuilder();
      for (int i = rnd.nextInt(4); i > 0; i--) {
        x.append(alphabet[rnd.nextInt(alphabet.length)]);
      }
      for (int i = rnd.nextInt(4); i > 0; i--) {
        y.append(alphabet[rnd.nextInt(alphabet.length)]);
      }
      int expected = Integer.signum(java.util.Arrays.compare(x.codePoints().toArray(), y.codePoints().toArray()));
      assertEquals(expected, Integer.signum(CanonicalJson.CODE_POINT_ORDER.compare(x.toString(), y.toString())),
          x + " vs " + y);
    }
  }

  @Test
  void escapesOnlyQuoteAndBackslashAndWritesRawUtf8() throws Exception {
    String out = canon("{\"k\":\"a\\\"b\\\\c\\n\\u00e9\\/\"}");
    assertEquals("{\"k\":\"a\\\"b\\\\c\n\u00e9/\"}", out);
    assertArrayEquals(b("{\"k\":\"a\\\"b\\\\c\n\u00e9/\"}"),
        CanonicalJson.encode(CanonicalJson.parse(b("{\"k\":\"a\\\"b\\\\c\\n\\u00e9\\/\"}"))));
  }

  @Test
  void rejectsFloats() {
    var e = assertThrows(JsonFormatException.class, () -> CanonicalJson.parse(b("{\"v\": 1.5}")));
    assertTrue(e.getMessage().contains("floating-point"), e.getMessage());
    assertThrows(JsonFormatException.class, () -> CanonicalJson.parse(b("[1e3]")));
    assertThrows(IllegalArgumentException.class, () -> CanonicalJson.encode(List.of(1.5d)));
  }

  @Test
  void rejectsDuplicateKeysNamingThem() {
    var e = assertThrows(JsonFormatException.class,
        () -> CanonicalJson.parse(b("{\"a\":1,\n \"a\":2}")));
    assertTrue(e.getMessage().contains("duplicate key \"a\"") && e.getMessage().contains("line 2"), e.getMessage());
  }

  @Test
  void rejectsMalformedInput() {
    for (String bad : new String[] {"", "{", "{\"a\" 1}", "[1,]", "{\"a\":1}x", "01", "\"\u0001\"", "tru"}) {
      assertThrows(JsonFormatException.class, () -> CanonicalJson.parse(b(bad)), bad);
    }
    assertThrows(JsonFormatException.class, () -> CanonicalJson.parse(new byte[] {'"', (byte) 0xff, '"'}));
  }

  @Test
  void roundTripsNestedStructures() throws Exception {
    Map<String, Object> m = CanonicalJson.newObject();
    m.put("x", List.of(1L, "two", Map.of("y", CanonicalJson.NULL)));
    m.put("big", Long.MAX_VALUE);
    byte[] enc = CanonicalJson.encode(m);
    assertArrayEquals(enc, CanonicalJson.encode(CanonicalJson.parse(enc)));
    assertArrayEquals(enc, CanonicalJson.encode(CanonicalJson.parse(CanonicalJson.encodePretty(m))));
  }
}
