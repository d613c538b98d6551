package io.basalt.signing.json;

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
    assertEquals(
        "{\"a\":[1,true,false,null],\"b\":{\"c\":\"d\"},\"z\":-5}",
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
    String[] alphabet = {
      "a",
      "z",
      "\u00e9",
      "\uD7FF",
      "\uE000",
      "\uFF21",
      "\uFFFF",
      "\uD800\uDC00",
      "\uD83D\uDE00",
      "\uDBFF\uDFFF"
    };
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
      int expected =
          Integer.signum(
              java.util.Arrays.compare(x.codePoints().toArray(), y.codePoints().toArray()));
      assertEquals(
          expected,
          Integer.signum(CanonicalJson.CODE_POINT_ORDER.compare(x.toString(), y.toString())),
          x + " vs " + y);
    }
  }

  @Test
  void escapesOnlyQuoteAndBackslashAndWritesRawUtf8() throws Exception {
    String out = canon("{\"k\":\"a\\\"b\\\\c\\n\\u00e9\\/\"}");
    assertEquals("{\"k\":\"a\\\"b\\\\c\n\u00e9/\"}", out);
    assertArrayEquals(
        b("{\"k\":\"a\\\"b\\\\c\n\u00e9/\"}"),
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
    var e =
        assertThrows(
            JsonFormatException.class, () -> CanonicalJson.parse(b("{\"a\":1,\n \"a\":2}")));
    assertTrue(
        e.getMessage().contains("duplicate key \"a\"") && e.getMessage().contains("line 2"),
        e.getMessage());
  }

  @Test
  void rejectsMalformedInput() {
    for (String bad :
        new String[] {"", "{", "{\"a\" 1}", "[1,]", "{\"a\":1}x", "01", "\"\u0001\"", "tru"}) {
      assertThrows(JsonFormatException.class, () -> CanonicalJson.parse(b(bad)), bad);
    }
    assertThrows(
        JsonFormatException.class, () -> CanonicalJson.parse(new byte[] {'"', (byte) 0xff, '"'}));
  }

  @Test
  void roundTripsNestedStructures() throws Exception {
    Map<String, Object> m = CanonicalJson.newObject();
    m.put("x", List.of(1L, "two", Map.of("y", CanonicalJson.NULL)));
    m.put("big", Long.MAX_VALUE);
    byte[] enc = CanonicalJson.encode(m);
    assertArrayEquals(enc, CanonicalJson.encode(CanonicalJson.parse(enc)));
    assertArrayEquals(
        enc, CanonicalJson.encode(CanonicalJson.parse(CanonicalJson.encodePretty(m))));
  }

  // ---- the byte-level parser and the span canonicaliser
  // ------------------------------------------

  /** A random JSON value as text; objects list keys sorted by code point unless {@code shuffle}. */
  private static void randomJson(
      java.util.Random rnd, StringBuilder sb, int depth, boolean shuffle) {
    int kind = depth > 3 ? 2 + rnd.nextInt(4) : rnd.nextInt(6);
    String ws = rnd.nextBoolean() ? "" : List.of(" ", "\n  ", "\t", "\r\n").get(rnd.nextInt(4));
    switch (kind) {
      case 0 -> {
        java.util.TreeMap<String, Boolean> keys =
            new java.util.TreeMap<>(CanonicalJson.CODE_POINT_ORDER);
        for (int i = rnd.nextInt(5); i > 0; i--) {
          keys.put(randomString(rnd), true);
        }
        List<String> order = new java.util.ArrayList<>(keys.keySet());
        if (shuffle) {
          java.util.Collections.shuffle(order, rnd);
        }
        sb.append('{').append(ws);
        for (int i = 0; i < order.size(); i++) {
          sb.append(i > 0 ? "," + ws : "")
              .append(quote(rnd, order.get(i)))
              .append(ws)
              .append(':')
              .append(ws);
          randomJson(rnd, sb, depth + 1, shuffle);
        }
        sb.append(ws).append('}');
      }
      case 1 -> {
        sb.append('[').append(ws);
        for (int i = rnd.nextInt(4); i > 0; i--) {
          randomJson(rnd, sb, depth + 1, shuffle);
          sb.append(i > 1 ? "," + ws : "");
        }
        sb.append(ws).append(']');
      }
      case 2 -> sb.append(quote(rnd, randomString(rnd)));
      case 3 ->
          sb.append(
              List.of(
                      "0",
                      "-0",
                      "7",
                      "-12",
                      "9223372036854775807",
                      "-9223372036854775808",
                      "123456789012345678",
                      "1234567890123456789")
                  .get(rnd.nextInt(8)));
      case 4 -> sb.append(List.of("true", "false", "null").get(rnd.nextInt(3)));
      default -> sb.append(quote(rnd, ""));
    }
  }

  private static String randomString(java.util.Random rnd) {
    String[] alphabet = {
      "a",
      "b",
      "Z",
      "0",
      "/",
      " ",
      "\"",
      "\\",
      "\n",
      "\t",
      "\u0001",
      "\u007f",
      "\u00e9",
      "\u0800",
      "\uD7FF",
      "\uE000",
      "\uFFFD",
      "\uD83D\uDE00",
      "\uDBFF\uDFFF"
    };
    StringBuilder s = new StringBuilder();
    for (int i = rnd.nextInt(6); i > 0; i--) {
      s.append(alphabet[rnd.nextInt(alphabet.length)]);
    }
    return s.toString();
  }

  /**
   * JSON string literal with a random choice of escapes (always for quote, backslash, controls).
   */
  private static String quote(java.util.Random rnd, String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append(rnd.nextInt(4) == 0 ? String.format("\\u%04x", (int) c) : "\\" + c);
      } else if (c < 0x20) {
        sb.append(
            c == '\n' && rnd.nextBoolean()
                ? "\\n"
                : c == '\t' && rnd.nextBoolean() ? "\\t" : String.format("\\u%04X", (int) c));
      } else if (c == '/' && rnd.nextBoolean()) {
        sb.append("\\/");
      } else if (c > 0x7e && rnd.nextInt(3) == 0) {
        sb.append(String.format("\\u%04x", (int) c)); // surrogates too
        if (Character.isHighSurrogate(c)) {
          sb.append(String.format("\\u%04x", (int) s.charAt(++i))); // escape a pair as a pair
        }
      } else if (Character.isHighSurrogate(c)) {
        sb.append(c).append(s.charAt(++i));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }

  /**
   * Random documents with random escapes and whitespace: the pretty form parses back to the same
   * value, whose canonical encoding is the same bytes.
   */
  @Test
  void canonicalEncodingRoundTripsAndIsAFixedPoint() throws Exception {
    java.util.Random rnd = new java.util.Random(11);
    for (int n = 0; n < 5_000; n++) {
      StringBuilder v = new StringBuilder();
      randomJson(rnd, v, 0, rnd.nextBoolean());
      String doc = "{ \"signatures\": [],\n \"signed\" : " + v + " }";
      Object signed = CanonicalJson.parseObject(b(doc)).get("signed");
      byte[] canonical = CanonicalJson.encode(signed);
      // canonical output keeps control characters raw, which strict JSON rejects: read back the
      // pretty form (same key order, control characters escaped) and encode it again
      Object back = CanonicalJson.parse(CanonicalJson.encodePretty(signed));
      assertEquals(signed, back, doc);
      assertArrayEquals(canonical, CanonicalJson.encode(back), doc);
    }
  }

  @Test
  void parsedObjectsBehaveAsSortedMaps() throws Exception {
    java.util.Random rnd = new java.util.Random(13);
    for (int n = 0; n < 2_000; n++) {
      StringBuilder v = new StringBuilder();
      randomJson(rnd, v, 3, rnd.nextBoolean());
      Object parsed = CanonicalJson.parse(b(v.toString()));
      if (!(parsed instanceof Map<?, ?> m)) {
        continue;
      }
      java.util.TreeMap<Object, Object> ref =
          new java.util.TreeMap<>(
              (x, y) -> CanonicalJson.CODE_POINT_ORDER.compare((String) x, (String) y));
      ref.putAll(m);
      assertEquals(ref, m);
      assertEquals(m, ref);
      assertEquals(ref.hashCode(), m.hashCode());
      assertEquals(List.copyOf(ref.keySet()), List.copyOf(m.keySet()));
      for (Object k : ref.keySet()) {
        assertTrue(m.containsKey(k));
        assertEquals(ref.get(k), m.get(k));
      }
      assertTrue(!m.containsKey("absent\u0000") && m.get("absent\u0000") == null);
      assertThrows(
          UnsupportedOperationException.class, () -> ((Map<String, Object>) m).put("x", 1L));
    }
  }

  @Test
  void utf8IsCheckedLikeTheJdkStrictDecoder() throws Exception {
    // every one- to four-byte sequence from an interesting set, inside a string literal
    int[] interesting = {
      0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0,
      0xf1, 0xf3, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90
    };
    java.util.Random rnd = new java.util.Random(14);
    for (int n = 0; n < 30_000; n++) {
      int len = 1 + rnd.nextInt(4);
      byte[] doc = new byte[len + 2];
      doc[0] = '"';
      doc[len + 1] = '"';
      for (int i = 1; i <= len; i++) {
        doc[i] = (byte) interesting[rnd.nextInt(interesting.length)];
      }
      String jdk;
      try {
        jdk =
            StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                .decode(java.nio.ByteBuffer.wrap(doc, 1, len))
                .toString();
      } catch (java.nio.charset.CharacterCodingException e) {
        jdk = null;
      }
      String ours;
      try {
        ours = (String) CanonicalJson.parse(doc);
      } catch (JsonFormatException e) {
        ours = null;
      }
      assertEquals(jdk, ours, java.util.HexFormat.of().formatHex(doc));
    }
  }

  @Test
  void errorsNameLineAndColumnInCharacters() throws Exception {
    var e =
        assertThrows(
            JsonFormatException.class, () -> CanonicalJson.parse(b("{\"\u00e9\u00e9\": x}")));
    assertTrue(e.getMessage().endsWith("at line 1, column 8"), e.getMessage());
    e =
        assertThrows(
            JsonFormatException.class, () -> CanonicalJson.parse(b("[1,\n  2,\n  \"a\" \"b\"]")));
    assertTrue(e.getMessage().endsWith("at line 3, column 7"), e.getMessage());
    e =
        assertThrows(
            JsonFormatException.class, () -> CanonicalJson.parse(b("[18446744073709551616]")));
    assertTrue(e.getMessage().startsWith("integer out of range"), e.getMessage());
    assertEquals(-9223372036854775808L, CanonicalJson.parse(b("-9223372036854775808")));
    assertEquals(0L, CanonicalJson.parse(b("-0")));
  }
}
