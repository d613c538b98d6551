package io.basalt.signing.tuf;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.json.Json;
import io.basalt.signing.json.JsonFormatException;
import io.basalt.signing.keys.Key;
import io.basalt.signing.keys.SigningKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One signed TUF metadata document as received: the exact bytes, the parsed {@code signed} object
 * (every field kept, unknown ones included) and its signatures. Signatures are checked over the
 * canonical form of the received {@code signed} object, never over a re-encoded model. Immutable
 * and thread-safe.
 */
public final class Metadata {

  private static final Pattern SPEC_VERSION = Pattern.compile("1\\.\\d+(\\.\\d+)?");
  private static final Pattern EXPIRES = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z");

  private final byte[] raw;
  private final Map<String, Object> signed;
  private final Map<String, byte[]> signatures;
  private final String type;
  private final long version;
  private final Instant expires;
  /** Where the {@code signed} value lies in {@link #raw} when its objects' keys arrived sorted, else -1. */
  private final int sortedSignedStart;
  private final int sortedSignedEnd;
  private volatile byte[] canonicalSigned;

  private Metadata(byte[] raw, Map<String, Object> signed, Map<String, byte[]> signatures, String type,
      long version, Instant expires, int sortedSignedStart, int sortedSignedEnd) {
    this.raw = raw;
    this.sortedSignedStart = sortedSignedStart;
    this.sortedSignedEnd = sortedSignedEnd;
    this.signed = signed;
    this.signatures = signatures;
    this.type = type;
    this.version = version;
    this.expires = expires;
  }

  /**
   * Parses metadata bytes.
   *
   * @param role names the role in error messages
   * @throws BadMetadataException if the bytes are not well-formed TUF metadata
   */
  public static Metadata parse(byte[] raw, String role) throws BadMetadataException {
    CanonicalJson.Document doc;
    try {
      doc = CanonicalJson.parseDocument(raw, "signed");
    } catch (JsonFormatException e) {
      throw new BadMetadataException(role, e.getMessage());
    }
    Map<String, Object> top = doc.top();
    try {
      Map<String, Object> signed = Json.object(top, "signed", "metadata");
      List<Object> sigs = Json.array(top, "signatures", "metadata");
      Map<String, byte[]> byKeyId = new HashMap<>();
      for (int i = 0; i < sigs.size(); i++) {
        Map<String, Object> s = Json.asObject(sigs.get(i), "signatures[" + i + "]");
        String keyid = Json.string(s, "keyid", "signatures[" + i + "]");
        String sig = Json.string(s, "sig", "signatures[" + i + "]");
        byte[] sigBytes;
        try {
          sigBytes = HexFormat.of().parseHex(sig);
        } catch (IllegalArgumentException e) {
          sigBytes = new byte[0]; // never verifies
        }
        if (byKeyId.put(keyid, sigBytes) != null) {
          throw new IllegalArgumentException("signatures: more than one signature with keyid " + keyid);
        }
      }
      String type = Json.string(signed, "_type", "signed");
      long version = Json.integer(signed, "version", "signed");
      if (version < 1) {
        throw new IllegalArgumentException("signed.version: must be >= 1, found " + version);
      }
      String spec = Json.string(signed, "spec_version", "signed");
      if (!SPEC_VERSION.matcher(spec).matches()) {
        throw new IllegalArgumentException("signed.spec_version: unsupported " + spec + ", expected 1.x.y");
      }
      String exp = Json.string(signed, "expires", "signed");
      if (!EXPIRES.matcher(exp).matches()) {
        throw new IllegalArgumentException("signed.expires: expected YYYY-MM-DDTHH:MM:SSZ, found " + exp);
      }
      return new Metadata(raw.clone(), signed, byKeyId, type, version, parseExpires(exp),
          doc.spanSorted() ? doc.spanStart() : -1, doc.spanSorted() ? doc.spanEnd() : -1);
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      throw new BadMetadataException(role, e.getMessage());
    }
  }

  /**
   * Reads an {@code expires} value already matched against {@link #EXPIRES}. Same result as
   * {@code Instant.parse} (invalid dates throw DateTimeException), without the formatter machinery,
   * which cost more than parsing a delegated role's JSON; hour 24 and second 60 go to Instant.parse.
   */
  private static Instant parseExpires(String exp) {
    int hour = Integer.parseInt(exp, 11, 13, 10);
    int second = Integer.parseInt(exp, 17, 19, 10);
    if (hour > 23 || second > 59) {
      return Instant.parse(exp);
    }
    long day = java.time.LocalDate.of(Integer.parseInt(exp, 0, 4, 10), Integer.parseInt(exp, 5, 7, 10),
        Integer.parseInt(exp, 8, 10, 10)).toEpochDay(); // checks the date (no February 30)
    int minute = Integer.parseInt(exp, 14, 16, 10);
    if (minute > 59) {
      throw new java.time.DateTimeException("Invalid value for MinuteOfHour: " + minute);
    }
    return Instant.ofEpochSecond(day * 86_400 + hour * 3_600L + minute * 60L + second);
  }

  /**
   * Parses and checks the {@code _type} field.
   *
   * @throws BadMetadataException if malformed or of another type
   */
  public static Metadata parse(byte[] raw, String role, String expectedType) throws BadMetadataException {
    Metadata m = parse(raw, role);
    if (!m.type.equals(expectedType)) {
      throw new BadMetadataException(role, "expected _type " + expectedType + ", found " + m.type);
    }
    return m;
  }

  /**
   * Serializes a signed object with signatures from the given keys (repository side).
   *
   * @throws IllegalArgumentException if the signed object holds non-canonical values
   */
  public static byte[] sign(Map<String, Object> signed, List<SigningKey> keys) {
    byte[] canonical = CanonicalJson.encode(signed);
    List<Object> sigs = new ArrayList<>();
    Set<String> seen = new LinkedHashSet<>();
    for (SigningKey k : keys) {
      if (!seen.add(k.keyId())) {
        continue;
      }
      Map<String, Object> s = CanonicalJson.newObject();
      s.put("keyid", k.keyId());
      s.put("sig", HexFormat.of().formatHex(k.sign(canonical)));
      sigs.add(s);
    }
    Map<String, Object> top = CanonicalJson.newObject();
    top.put("signatures", sigs);
    top.put("signed", signed);
    return CanonicalJson.encodePretty(top);
  }

  /** A copy of the exact bytes received. */
  public byte[] bytes() {
    return raw.clone();
  }

  /** The number of bytes received. */
  public int length() {
    return raw.length;
  }

  /** The parsed {@code signed} object (unmodifiable, unknown fields included). */
  public Map<String, Object> signed() {
    return signed;
  }

  /** The {@code _type} field. */
  public String type() {
    return type;
  }

  /** The {@code version} field. */
  public long version() {
    return version;
  }

  /** The {@code expires} field. */
  public Instant expires() {
    return expires;
  }

  /** Whether the metadata is expired at the given time (expiry at or before it). */
  public boolean isExpired(Instant now) {
    return !now.isBefore(expires);
  }

  /** Key ids that carry a signature, in no particular order. */
  public Set<String> signatureKeyIds() {
    return signatures.keySet();
  }

  /**
   * Counts the distinct keys of a role whose signature verifies over the canonical signed bytes.
   */
  public int countValidSignatures(Map<String, Key> keys, List<String> keyids) {
    byte[] data = canonicalSigned();
    int valid = 0;
    for (String keyid : new LinkedHashSet<>(keyids)) {
      Key key = keys.get(keyid);
      byte[] sig = signatures.get(keyid);
      if (key != null && sig != null && key.verify(data, sig)) {
        valid++;
      }
    }
    return valid;
  }

  /**
   * Checks that a threshold of the role's keys signed this metadata.
   *
   * @param signer names the delegating metadata in the error message
   * @throws UnsignedMetadataException if fewer than threshold distinct keys verify
   */
  public void verifyThreshold(String role, Map<String, Key> keys, RoleKeys roleKeys, String signer)
      throws UnsignedMetadataException {
    int valid = countValidSignatures(keys, roleKeys.keyids());
    if (valid < roleKeys.threshold()) {
      throw new UnsignedMetadataException(role, roleKeys.threshold(), valid, signer);
    }
  }

  /**
   * The canonical form of the received {@code signed} object. When every object in it listed its
   * keys in order (canonical and pretty-printed TUF files do), it is written straight from the
   * received bytes of that object (no tree walk, no sorting); otherwise from the parsed tree. Both
   * give the same bytes ({@code CanonicalJsonTest}).
   */
  byte[] canonicalSigned() {
    byte[] c = canonicalSigned;
    if (c == null && sortedSignedStart >= 0) {
      c = CanonicalJson.canonicalSpan(raw, sortedSignedStart, sortedSignedEnd);
    }
    if (c == null) {
      c = CanonicalJson.encode(signed);
      canonicalSigned = c;
    }
    return c;
  }
}
