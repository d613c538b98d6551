package io.basalt.signing.tuf;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.json.Json;
import io.basalt.signing.json.JsonFormatException;
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
 * (every field kept, unknown ones included) and its signatures. {@link SignatureVerifier} checks
 * the signatures over the canonical form of the received {@code signed} object, never over a typed
 * model. Immutable and thread-safe.
 */
public final class Metadata {

  private static final Pattern SPEC_VERSION = Pattern.compile("1\\.\\d+(\\.\\d+)?");
  private static final Pattern EXPIRES =
      Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z");

  private final byte[] raw;
  private final Map<String, Object> signed;
  private final Map<String, byte[]> signatures;
  private final String type;
  private final long version;
  private final Instant expires;

  private Metadata(
      byte[] raw,
      Map<String, Object> signed,
      Map<String, byte[]> signatures,
      String type,
      long version,
      Instant expires) {
    this.raw = raw;
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
    Map<String, Object> top;
    try {
      top = CanonicalJson.parseObject(raw);
    } catch (JsonFormatException e) {
      throw new BadMetadataException(role, e.getMessage());
    }
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
          throw new IllegalArgumentException(
              "signatures: more than one signature with keyid " + keyid);
        }
      }
      String type = Json.string(signed, "_type", "signed");
      long version = Json.integer(signed, "version", "signed");
      if (version < 1) {
        throw new IllegalArgumentException("signed.version: must be >= 1, found " + version);
      }
      String spec = Json.string(signed, "spec_version", "signed");
      if (!SPEC_VERSION.matcher(spec).matches()) {
        throw new IllegalArgumentException(
            "signed.spec_version: unsupported " + spec + ", expected 1.x.y");
      }
      String exp = Json.string(signed, "expires", "signed");
      if (!EXPIRES.matcher(exp).matches()) {
        throw new IllegalArgumentException(
            "signed.expires: expected YYYY-MM-DDTHH:MM:SSZ, found " + exp);
      }
      return new Metadata(raw.clone(), signed, byKeyId, type, version, Instant.parse(exp));
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      throw new BadMetadataException(role, e.getMessage());
    }
  }

  /**
   * Parses and checks the {@code _type} field.
   *
   * @throws BadMetadataException if malformed or of another type
   */
  public static Metadata parse(byte[] raw, String role, String expectedType)
      throws BadMetadataException {
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

  /** The signature bytes made with a key id, or null (malformed hex gives an empty array). */
  byte[] signature(String keyid) {
    return signatures.get(keyid);
  }
}
