package io.basalt.signing.cli;

import io.basalt.signing.json.CanonicalJson;
import io.basalt.signing.keys.KeyType;
import io.basalt.signing.tuf.repo.Mirror;
import io.basalt.signing.tuf.repo.Passphrases;
import io.basalt.signing.tuf.repo.PayloadPublisher;
import io.basalt.signing.tuf.repo.RepoServer;
import io.basalt.signing.tuf.repo.Repository;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code basalt repo}: create and operate a TUF repository on disk. Exit codes: 0 success, 1 a
 * failure (message on stderr), 2 bad usage. Not thread-safe; one instance per invocation.
 */
@Command(
    name = "repo",
    mixinStandardHelpOptions = true,
    description =
        "Create and operate a TUF repository (keys, targets, delegations, signing, serving).",
    subcommands = {
      RepoCommand.Init.class,
      RepoCommand.AddTarget.class,
      RepoCommand.RemoveTarget.class,
      RepoCommand.Delegate.class,
      RepoCommand.Publish.class,
      RepoCommand.RefreshTimestamp.class,
      RepoCommand.Resign.class,
      RepoCommand.RotateKey.class,
      RepoCommand.Verify.class,
      RepoCommand.Serve.class,
      RepoCommand.MirrorCmd.class
    })
public final class RepoCommand implements Runnable {
  @Spec CommandLine.Model.CommandSpec spec;

  /** Clock used by every subcommand (replaceable for tests). */
  static Clock clock = Clock.systemUTC();

  /** Passphrase source used by every subcommand (replaceable for tests). */
  static java.util.function.Supplier<Passphrases> passphrases = Passphrases::system;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "missing subcommand (init, add-target, ...)");
  }

  /** Options every subcommand takes. */
  static final class RepoOptions {
    @Option(
        names = {"-r", "--repo"},
        defaultValue = ".",
        paramLabel = "DIR",
        description = "Repository directory (default: current directory).")
    Path repo;

    @Option(
        names = "--key-dir",
        paramLabel = "DIR",
        description =
            "Another directory holding private keys KEYID.pem (e.g. offline root keys); repeatable.")
    List<Path> keyDirs = new ArrayList<>();

    Repository open() throws IOException {
      return Repository.open(repo, keyDirs, passphrases.get(), clock, new SecureRandom());
    }
  }

  abstract static class Base implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;
    @Mixin RepoOptions opts;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }

    PrintWriter err() {
      return spec.commandLine().getErr();
    }

    void warn(List<String> warnings) {
      for (String w : warnings) {
        err().println("warning: " + w);
      }
      err().flush();
    }

    @Override
    public Integer call() {
      try {
        return run();
      } catch (IOException | IllegalArgumentException e) {
        err().println("basalt repo " + spec.name() + ": " + e.getMessage());
        err().flush();
        return 1;
      }
    }

    abstract int run() throws IOException;
  }

  @Command(
      name = "init",
      mixinStandardHelpOptions = true,
      description = "Create keys for all four roles and publish version 1 of everything.")
  static final class Init extends Base {
    @Option(
        names = "--key-type",
        defaultValue = "ed25519",
        description = "ed25519, ecdsa or rsa (default ${DEFAULT-VALUE}).")
    String keyType;

    @Option(names = "--root-keys", defaultValue = "1")
    int rootKeys;

    @Option(names = "--root-threshold", defaultValue = "1")
    int rootThreshold;

    @Option(names = "--targets-keys", defaultValue = "1")
    int targetsKeys;

    @Option(names = "--targets-threshold", defaultValue = "1")
    int targetsThreshold;

    @Option(names = "--snapshot-keys", defaultValue = "1")
    int snapshotKeys;

    @Option(names = "--snapshot-threshold", defaultValue = "1")
    int snapshotThreshold;

    @Option(names = "--timestamp-keys", defaultValue = "1")
    int timestampKeys;

    @Option(names = "--timestamp-threshold", defaultValue = "1")
    int timestampThreshold;

    @Option(
        names = "--root-key-dir",
        paramLabel = "DIR",
        description = "Write the root keys here (offline medium).")
    Path rootKeyDir;

    @Option(
        names = "--expires",
        paramLabel = "ROLE=DURATION",
        description =
            "Expiry period per role (root, targets, snapshot, timestamp, delegated) as ISO-8601, e.g. targets=P30D.")
    Map<String, String> expires = Map.of();

    @Option(
        names = "--warn-before",
        paramLabel = "ROLE=DURATION",
        description = "Warn this long before a role expires.")
    Map<String, String> warnBefore = Map.of();

    @Option(names = "--no-consistent-snapshot", description = "Publish plain ROLE.json names only.")
    boolean noConsistent;

    @Override
    int run() throws IOException {
      Repository.InitOptions o =
          new Repository.InitOptions()
              .keyType(KeyType.fromName(keyType))
              .keys("root", rootKeys, rootThreshold)
              .keys("targets", targetsKeys, targetsThreshold)
              .keys("snapshot", snapshotKeys, snapshotThreshold)
              .keys("timestamp", timestampKeys, timestampThreshold)
              .consistentSnapshot(!noConsistent)
              .rootKeyDir(rootKeyDir);
      expires.forEach(o::expires);
      warnBefore.forEach(o::warnBefore);
      Repository r = Repository.init(opts.repo, o, passphrases.get(), clock, new SecureRandom());
      out()
          .println(
              "initialised TUF repository in "
                  + r.dir()
                  + " (metadata/1.root.json is the root clients trust)");
      warn(r.expiryWarnings());
      return 0;
    }
  }

  @Command(
      name = "add-target",
      mixinStandardHelpOptions = true,
      description = "Stage a file as a target (publish to sign it).")
  static final class AddTarget extends Base {
    @Parameters(index = "0", paramLabel = "FILE")
    Path file;

    @Option(
        names = "--name",
        paramLabel = "PATH",
        description = "Target path in the repository (default: file name).")
    String name;

    @Option(
        names = "--role",
        defaultValue = "targets",
        description = "Targets role to list it in (default ${DEFAULT-VALUE}).")
    String role;

    @Option(
        names = "--custom",
        paramLabel = "KEY=VALUE",
        description = "A custom string field (version, channel, arch, usr_root_hash...).")
    Map<String, String> custom = new java.util.TreeMap<>();

    @Option(
        names = "--custom-json",
        paramLabel = "JSON",
        description = "A JSON object merged into custom.")
    String customJson;

    @Override
    int run() throws IOException {
      Map<String, Object> c = CanonicalJson.newObject();
      if (customJson != null) {
        c.putAll(CanonicalJson.parseObject(customJson.getBytes(StandardCharsets.UTF_8)));
      }
      c.putAll(custom);
      String path = name != null ? name : file.getFileName().toString();
      var v = opts.open().addTarget(role, path, file, c);
      out()
          .println(
              "staged "
                  + v.path()
                  + " ("
                  + v.length()
                  + " bytes, sha256 "
                  + v.sha256()
                  + ") in role "
                  + role);
      return 0;
    }
  }

  @Command(
      name = "remove-target",
      mixinStandardHelpOptions = true,
      description = "Stage the removal of a target.")
  static final class RemoveTarget extends Base {
    @Parameters(index = "0", paramLabel = "PATH")
    String path;

    @Option(names = "--role", defaultValue = "targets")
    String role;

    @Override
    int run() throws IOException {
      opts.open().removeTarget(role, path);
      out().println("staged removal of " + path + " from role " + role);
      return 0;
    }
  }

  @Command(
      name = "delegate",
      mixinStandardHelpOptions = true,
      description = "Delegate target paths to a new role with its own keys.")
  static final class Delegate extends Base {
    @Option(
        names = "--name",
        required = true,
        description = "Name of the new role (e.g. a channel or team).")
    String name;

    @Option(
        names = "--from",
        defaultValue = "targets",
        description = "Delegating role (default ${DEFAULT-VALUE}).")
    String from;

    @Option(
        names = "--path",
        required = true,
        paramLabel = "PATTERN",
        description = "Path pattern, e.g. 'beta/*'; repeatable.")
    List<String> paths;

    @Option(
        names = "--terminating",
        description = "Stop the search at this role for matching paths.")
    boolean terminating;

    @Option(names = "--key-type", defaultValue = "ed25519")
    String keyType;

    @Option(names = "--keys", defaultValue = "1")
    int keys;

    @Option(names = "--threshold", defaultValue = "1")
    int threshold;

    @Override
    int run() throws IOException {
      opts.open()
          .delegate(from, name, paths, terminating, KeyType.fromName(keyType), keys, threshold);
      out().println("staged delegation of " + paths + " from " + from + " to " + name);
      return 0;
    }
  }

  @Command(
      name = "publish",
      mixinStandardHelpOptions = true,
      description =
          "Sign staged roles, then a new snapshot and timestamp. With PAYLOAD_DIR "
              + "(out/<image>/update), first stage its usr.img, vmlinuz and initramfs as CHANNEL/ARCH/VERSION/FILE targets.")
  static final class Publish extends Base {
    @Parameters(
        index = "0",
        arity = "0..1",
        paramLabel = "PAYLOAD_DIR",
        description = "An image build's update payload directory (payload.json + files).")
    Path payload;

    @Option(
        names = "--channel",
        description = "With PAYLOAD_DIR: channel to publish on (default: the payload's).")
    String channel;

    @Option(
        names = "--role",
        defaultValue = "targets",
        description = "With PAYLOAD_DIR: targets role (default ${DEFAULT-VALUE}).")
    String role;

    @Override
    int run() throws IOException {
      Repository r = opts.open();
      if (payload == null && channel != null) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--channel needs PAYLOAD_DIR");
      }
      if (payload != null) {
        for (String t : PayloadPublisher.stage(r, role, payload, channel)) {
          out().println("staged " + t);
        }
      }
      List<String> w = r.publish();
      out().println("published " + r.dir().resolve("metadata"));
      warn(w);
      return 0;
    }
  }

  @Command(
      name = "refresh-timestamp",
      mixinStandardHelpOptions = true,
      description = "Sign a new timestamp with a fresh expiry (for cron).")
  static final class RefreshTimestamp extends Base {
    @Override
    int run() throws IOException {
      warn(opts.open().refreshTimestamp());
      out().println("timestamp refreshed");
      return 0;
    }
  }

  @Command(
      name = "resign",
      mixinStandardHelpOptions = true,
      description = "Re-sign a role unchanged with a fresh expiry, then publish.")
  static final class Resign extends Base {
    @Option(names = "--role", required = true)
    String role;

    @Override
    int run() throws IOException {
      Repository r = opts.open();
      r.touch(role);
      warn(r.publish());
      out().println("re-signed " + role);
      return 0;
    }
  }

  @Command(
      name = "rotate-key",
      mixinStandardHelpOptions = true,
      description = "Add and/or revoke keys of a top-level role in a new root, then publish.")
  static final class RotateKey extends Base {
    @Option(names = "--role", required = true)
    String role;

    @Option(names = "--revoke", paramLabel = "KEYID", description = "Key id to remove; repeatable.")
    List<String> revoke = new ArrayList<>();

    @Option(names = "--add", defaultValue = "0", description = "Number of new keys to generate.")
    int add;

    @Option(names = "--threshold", description = "New threshold (default: unchanged).")
    Integer threshold;

    @Option(names = "--key-type", defaultValue = "ed25519")
    String keyType;

    @Override
    int run() throws IOException {
      Repository r = opts.open();
      List<String> added = r.rotateKey(role, revoke, add, threshold, KeyType.fromName(keyType));
      out()
          .println(
              "role " + role + ": added " + added + ", revoked " + revoke + "; new root published");
      warn(r.expiryWarnings());
      return 0;
    }
  }

  @Command(
      name = "verify",
      mixinStandardHelpOptions = true,
      description =
          "Check the published repository as a fresh client would, every target included.")
  static final class Verify extends Base {
    @Override
    int run() throws IOException {
      Repository.VerifyReport rep = opts.open().verify();
      warn(rep.warnings());
      for (String e : rep.errors()) {
        err().println("error: " + e);
      }
      err().flush();
      out()
          .println(
              (rep.ok() ? "OK" : "FAILED")
                  + ": "
                  + rep.targetsChecked()
                  + " target(s) verified, "
                  + rep.errors().size()
                  + " error(s), "
                  + rep.warnings().size()
                  + " warning(s)");
      return rep.ok() ? 0 : 1;
    }
  }

  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      description =
          "Serve metadata/ and targets/ over HTTP on 127.0.0.1 until interrupted; one access log"
              + " line per request on stderr (METHOD PATH STATUS BYTES).")
  static final class Serve extends Base {
    @Option(
        names = "--port",
        defaultValue = "8080",
        description = "Port (0: any free port; default ${DEFAULT-VALUE}).")
    int port;

    @Override
    int run() throws IOException {
      PrintWriter log = spec.commandLine().getErr();
      try (RepoServer s =
          RepoServer.start(
              opts.repo,
              port,
              line -> {
                synchronized (log) {
                  log.println(line);
                  log.flush();
                }
              })) {
        out()
            .println(
                "serving "
                    + opts.repo
                    + " at "
                    + s.baseUrl()
                    + "metadata/ and "
                    + s.baseUrl()
                    + "targets/");
        out().flush();
        try {
          new java.util.concurrent.CountDownLatch(1).await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return 0;
    }
  }

  @Command(
      name = "mirror",
      description = {
        "Copy a channel's signed metadata, payloads, chunk indexes and chunks from SRC into DEST,"
            + " a directory (or USB stick) that serves as a repository on its own: metadata byte"
            + " for byte, nothing re-signed; every file verified on the way in.",
        "SRC: a repository directory (metadata/ and targets/) or its base URL (http, https, file)."
      })
  static final class MirrorCmd implements Callable<Integer> {
    @Spec CommandLine.Model.CommandSpec spec;

    // no standard help mixin: its --version would take the name of the version filter
    @Option(
        names = {"-h", "--help"},
        usageHelp = true,
        description = "Show this help message and exit.")
    boolean help;

    @Parameters(index = "0", paramLabel = "SRC", description = "repository directory or base URL")
    String src;

    @Parameters(index = "1", paramLabel = "DEST", description = "the mirror's directory")
    Path dest;

    @Option(
        names = "--root",
        paramLabel = "FILE",
        description =
            "trusted root metadata to verify SRC from (default for a directory:"
                + " SRC/metadata/1.root.json; required for a URL)")
    Path root;

    @Option(
        names = "--channel",
        defaultValue = "stable",
        description = "the channel to copy (default ${DEFAULT-VALUE})")
    String channel;

    @Option(names = "--arch", description = "only this architecture (default: all)")
    String arch;

    @Option(
        names = "--version",
        paramLabel = "V",
        description = "only these versions (repeatable; default: all of the channel)")
    List<String> versions = new ArrayList<>();

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      try {
        URI base;
        Path trusted = root;
        Path dir = Path.of(src);
        if (src.matches("(?i)(https?|file):.*")) {
          base = URI.create(src.endsWith("/") ? src : src + "/");
          if (trusted == null) {
            throw new CommandLine.ParameterException(
                spec.commandLine(), "a URL source needs --root FILE (the trusted root metadata)");
          }
        } else {
          if (!java.nio.file.Files.isDirectory(dir.resolve("metadata"))) {
            throw new IOException(src + ": not a repository directory (no metadata/)");
          }
          base = dir.toAbsolutePath().normalize().toUri();
          if (trusted == null) {
            trusted = dir.resolve("metadata").resolve("1.root.json");
          }
        }
        String prefix = channel + "/" + (arch == null ? "" : arch + "/");
        Mirror.Report r =
            new Mirror(
                    base.resolve("metadata/"),
                    base.resolve("targets/"),
                    new io.basalt.signing.tuf.client.HttpFetcher(),
                    clock)
                .mirror(
                    trusted,
                    dest,
                    p -> {
                      if (!p.startsWith(prefix)) {
                        return false;
                      }
                      if (versions.isEmpty()) {
                        return true;
                      }
                      String[] parts = p.split("/");
                      return parts.length == 4 && versions.contains(parts[2]);
                    });
        out.println(
            "mirrored "
                + r.targets()
                + " target(s) and "
                + r.chunks()
                + " chunk(s) of channel "
                + channel
                + " into "
                + dest
                + " ("
                + r.bytesFetched()
                + " bytes fetched); metadata copied unchanged: "
                + String.join(", ", r.metadata()));
        out.flush();
        return 0;
      } catch (IOException | IllegalArgumentException e) {
        err.println("basalt repo mirror: " + e.getMessage());
        err.flush();
        return 1;
      }
    }
  }
}
