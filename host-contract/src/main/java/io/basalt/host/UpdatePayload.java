package io.basalt.host;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * An update payload: one image version's USR slot image, kernel and initramfs for a channel and
 * architecture, with the slot's dm-verity root hash and hash offset. The builder writes it as
 * {@code update/payload.json} (field names {@code JSON_*}); the repository publishes each file as
 * the TUF target {@code <channel>/<arch>/<version>/<file>} whose signed {@code custom} object has
 * the fields {@code CUSTOM_*}; the agent reads them back. Immutable, thread-safe.
 *
 * @param name the image name
 * @param version the image version
 * @param channel the update channel
 * @param arch the architecture (e.g. {@code x86-64})
 * @param usrRootHash the slot's dm-verity root hash (64 lower-case hex digits)
 * @param usrHashOffset the byte offset of the hash tree in {@code usr.img}
 * @param files the payload's files in order
 */
public record UpdatePayload(
    String name,
    String version,
    String channel,
    String arch,
    String usrRootHash,
    long usrHashOffset,
    List<FileEntry> files) {

  /** The payload description in the payload folder. */
  public static final String PAYLOAD_JSON = "payload.json";

  /** The USR slot image (squashfs followed by its dm-verity hash tree). */
  public static final String USR_IMG = "usr.img";

  /** The slot's kernel. */
  public static final String KERNEL = "vmlinuz";

  /** The slot's initramfs. */
  public static final String INITRAMFS = "initramfs";

  /** Every payload file, in the order they are published and installed. */
  public static final List<String> FILES = List.of(USR_IMG, KERNEL, INITRAMFS);

  /** payload.json: image name. */
  public static final String JSON_NAME = "name";

  /** payload.json: image version. */
  public static final String JSON_VERSION = "version";

  /** payload.json: channel. */
  public static final String JSON_CHANNEL = "channel";

  /** payload.json: architecture. */
  public static final String JSON_ARCH = "arch";

  /** payload.json: dm-verity root hash. */
  public static final String JSON_USR_ROOT_HASH = "usrRootHash";

  /** payload.json: hash tree offset. */
  public static final String JSON_USR_HASH_OFFSET = "usrHashOffset";

  /** payload.json: the files object, file name to {size, sha256}. */
  public static final String JSON_FILES = "files";

  /** payload.json: a file's size in bytes. */
  public static final String JSON_SIZE = "size";

  /** payload.json: a file's sha256 (hex). */
  public static final String JSON_SHA256 = "sha256";

  /** TUF target custom field: image version. */
  public static final String CUSTOM_VERSION = "version";

  /** TUF target custom field: channel. */
  public static final String CUSTOM_CHANNEL = "channel";

  /** TUF target custom field: architecture. */
  public static final String CUSTOM_ARCH = "arch";

  /** TUF target custom field: image name. */
  public static final String CUSTOM_NAME = "name";

  /** TUF target custom field, on {@code usr.img} only: dm-verity root hash. */
  public static final String CUSTOM_USR_ROOT_HASH = "usr_root_hash";

  /** TUF target custom field, on {@code usr.img} only: hash tree offset. */
  public static final String CUSTOM_USR_HASH_OFFSET = "usr_hash_offset";

  /** What a version may contain (it becomes part of a boot entry's file name). */
  public static final String VERSION_PATTERN = "[0-9A-Za-z.+~_-]+";

  /** What a usr root hash looks like. */
  public static final String ROOT_HASH_PATTERN = "[0-9a-f]{64}";

  /** The hash tree offset is a positive multiple of this. */
  public static final int HASH_OFFSET_ALIGNMENT = 4096;

  /**
   * One payload file.
   *
   * @param path the file name in the payload folder
   * @param size its size in bytes
   * @param sha256 its sha256 (hex)
   */
  public record FileEntry(String path, long size, String sha256) {
    /** Checks the fields are present. */
    public FileEntry {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(sha256, "sha256");
    }
  }

  /** Copies {@code files}; every field must be present. */
  public UpdatePayload {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(version, "version");
    Objects.requireNonNull(channel, "channel");
    Objects.requireNonNull(arch, "arch");
    Objects.requireNonNull(usrRootHash, "usrRootHash");
    files = List.copyOf(files);
  }

  /** The TUF target path of one payload file: {@code <channel>/<arch>/<version>/<file>}. */
  public String targetPath(String file) {
    return channel + "/" + arch + "/" + version + "/" + file;
  }

  /**
   * The signed {@code custom} object of one payload file's target, in field order: version,
   * channel, arch, name, and on {@code usr.img} also the root hash and hash offset.
   */
  public Map<String, Object> targetCustom(String file) {
    Map<String, Object> custom = new LinkedHashMap<>();
    custom.put(CUSTOM_VERSION, version);
    custom.put(CUSTOM_CHANNEL, channel);
    custom.put(CUSTOM_ARCH, arch);
    custom.put(CUSTOM_NAME, name);
    if (file.equals(USR_IMG)) {
      custom.put(CUSTOM_USR_ROOT_HASH, usrRootHash);
      custom.put(CUSTOM_USR_HASH_OFFSET, usrHashOffset);
    }
    return custom;
  }

  /**
   * Reads {@code payload.json} as the builder writes it: exactly the {@code JSON_*} keys, the name,
   * version, channel and arch as the repository accepts them, a 64-hex-digit root hash, a positive
   * hash offset that is a multiple of {@link #HASH_OFFSET_ALIGNMENT}, and {@link #FILES} each with
   * a size and a 64-hex-digit sha256.
   *
   * @param json the file's bytes
   * @param where names the file in errors
   * @throws IOException naming {@code where}, the line and the key when the text is not such a
   *     document
   */
  public static UpdatePayload parse(byte[] json, String where) throws IOException {
    JsonText.Reader r = new JsonText.Reader(json, where);
    Map<String, Object> top = r.document();
    r.keys(
        top,
        "",
        JSON_NAME,
        JSON_VERSION,
        JSON_CHANNEL,
        JSON_ARCH,
        JSON_USR_ROOT_HASH,
        JSON_USR_HASH_OFFSET,
        JSON_FILES);
    String name = matching(r, top, JSON_NAME, "[a-z0-9][a-z0-9-]{0,62}");
    String version = matching(r, top, JSON_VERSION, VERSION_PATTERN);
    String channel = matching(r, top, JSON_CHANNEL, "[a-z0-9][a-z0-9-]{0,62}");
    String arch = matching(r, top, JSON_ARCH, "[a-z0-9_-]+");
    String rootHash = matching(r, top, JSON_USR_ROOT_HASH, ROOT_HASH_PATTERN);
    long offset = r.integer(top, "", JSON_USR_HASH_OFFSET, 1, Long.MAX_VALUE);
    if (offset % HASH_OFFSET_ALIGNMENT != 0) {
      throw r.error(
          JSON_USR_HASH_OFFSET,
          "expected a multiple of " + HASH_OFFSET_ALIGNMENT + ", found " + offset,
          top);
    }
    Map<String, Object> files = r.object(top, "", JSON_FILES);
    r.keys(files, JSON_FILES + ".", FILES.toArray(new String[0]));
    List<FileEntry> entries = new ArrayList<>();
    for (String f : FILES) {
      String prefix = JSON_FILES + "." + f + ".";
      Map<String, Object> e = r.object(files, JSON_FILES + ".", f);
      r.keys(e, prefix, JSON_SIZE, JSON_SHA256);
      long size = r.integer(e, prefix, JSON_SIZE, 0, Long.MAX_VALUE);
      String sha = r.string(e, prefix, JSON_SHA256);
      if (!sha.matches(ROOT_HASH_PATTERN)) {
        throw r.error(
            prefix + JSON_SHA256, "expected 64 lower-case hex digits, found \"" + sha + "\"", e);
      }
      entries.add(new FileEntry(f, size, sha));
    }
    return new UpdatePayload(name, version, channel, arch, rootHash, offset, entries);
  }

  /** The payload's entry for {@code file} (one of {@link #FILES}). */
  public FileEntry file(String file) {
    for (FileEntry e : files) {
      if (e.path().equals(file)) {
        return e;
      }
    }
    throw new IllegalArgumentException("payload has no file " + file);
  }

  private static String matching(JsonText.Reader r, Map<String, Object> obj, String key, String re)
      throws IOException {
    String s = r.string(obj, "", key);
    if (!s.matches(re)) {
      throw r.error(key, "expected a value matching " + re + ", found \"" + s + "\"", obj);
    }
    return s;
  }
}
