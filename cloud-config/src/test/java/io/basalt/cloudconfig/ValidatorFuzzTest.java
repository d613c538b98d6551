package io.basalt.cloudconfig;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import io.basalt.cloudconfig.datasource.ConfigDriveDatasource;
import io.basalt.cloudconfig.datasource.Datasource;
import io.basalt.cloudconfig.datasource.Datasources;
import io.basalt.cloudconfig.datasource.InvalidMetadataException;
import io.basalt.cloudconfig.datasource.OpenNebulaDatasource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Property test: 10,000 seeded random mutations of the valid corpus never crash the validator, and
 * every diagnostic points inside the document. Datasource metadata gets the same treatment: mutated
 * OpenNebula {@code context.sh} files and config-2 {@code meta_data.json}/{@code meta-data.json}
 * files give either metadata whose every value is clean or an {@link java.io.IOException} ({@link
 * InvalidMetadataException} for a bad value), in bounded time.
 */
class ValidatorFuzzTest {

  private static final String[] TOKENS = {
    ":",
    ": ",
    "- ",
    "-",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!binary ",
    "\t",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "#",
    "|",
    ">",
    "?",
    "\n",
    "  ",
    "\\",
    "\u00e9",
    "\u0000",
    "\uFEFF",
    "null",
    "~",
    "true",
    "0x1F",
    "0644",
    "1e400",
    "$private_ipv4",
    "http://",
    "units:",
    "coreos:",
    "write_files:",
    "- name: x.service",
    "encoding: gzip+base64",
    "content: !!str",
    "path: /usr/x",
    "!!map ",
    "&b [*b]",
    "@",
    "`",
    "%",
    "\r\n",
    "=",
    "users:\n  - name: "
  };

  static List<String> corpus() throws Exception {
    List<String> out = new ArrayList<>();
    for (String dir : List.of("/corpus", "/validate")) {
      Path d = Path.of(ValidatorFuzzTest.class.getResource(dir).toURI());
      try (Stream<Path> s = Files.list(d)) {
        for (Path p :
            s.filter(p -> p.toString().endsWith(".yml")).sorted().collect(Collectors.toList())) {
          out.add(Files.readString(p, StandardCharsets.UTF_8));
        }
      }
    }
    return out;
  }

  static String mutate(String s, Random r) {
    return mutate(s, r, TOKENS);
  }

  static String mutate(String s, Random r, String[] tokens) {
    StringBuilder b = new StringBuilder(s);
    int n = 1 + r.nextInt(4);
    for (int k = 0; k < n; k++) {
      int pos = b.length() == 0 ? 0 : r.nextInt(b.length() + 1);
      switch (r.nextInt(8)) {
        case 0 -> b.insert(pos, tokens[r.nextInt(tokens.length)]);
        case 1 -> {
          if (b.length() > 0) {
            int end = Math.min(b.length(), pos + 1 + r.nextInt(12));
            b.delete(Math.min(pos, b.length() - 1), end);
          }
        }
        case 2 -> {
          if (pos < b.length()) {
            b.setCharAt(pos, (char) (32 + r.nextInt(95)));
          }
        }
        case 3 -> { // duplicate a line
          String[] lines = b.toString().split("\n", -1);
          int i = r.nextInt(lines.length);
          List<String> l = new ArrayList<>(List.of(lines));
          l.add(i, lines[i]);
          b = new StringBuilder(String.join("\n", l));
        }
        case 4 -> { // change indentation of a line
          String[] lines = b.toString().split("\n", -1);
          int i = r.nextInt(lines.length);
          lines[i] = r.nextBoolean() ? "  " + lines[i] : lines[i].replaceFirst("^ {1,2}", "");
          b = new StringBuilder(String.join("\n", lines));
        }
        case 5 -> { // swap two lines
          String[] lines = b.toString().split("\n", -1);
          int i = r.nextInt(lines.length);
          int j = r.nextInt(lines.length);
          String t = lines[i];
          lines[i] = lines[j];
          lines[j] = t;
          b = new StringBuilder(String.join("\n", lines));
        }
        case 6 -> b.insert(pos, (char) r.nextInt(0x3000));
        default -> { // truncate
          b.setLength(pos);
        }
      }
    }
    return b.toString();
  }

  @Test
  void tenThousandMutationsNeverCrash() throws Exception {
    List<String> corpus = corpus();
    Random r = new Random(0xBA5A17L);
    int withErrors = 0;
    for (int i = 0; i < 10_000; i++) {
      String input = mutate(corpus.get(r.nextInt(corpus.size())), r);
      UserData ud;
      try {
        ud = UserDataParser.parse(input, ValidationOptions.defaultImage());
      } catch (RuntimeException | StackOverflowError e) {
        fail("mutation " + i + " crashed the validator on:\n" + input, e);
        return;
      }
      assertNotNull(ud);
      long lines = input.chars().filter(c -> c == '\n').count() + 2;
      for (Diagnostic d : ud.diagnostics()) {
        assertTrue(
            d.line() >= 1 && d.line() <= lines && d.column() >= 1,
            "mutation " + i + ": " + d + " in\n" + input);
      }
      if (ud.hasErrors()) {
        withErrors++;
        assertTrue(ud.config() == null, "an invalid config is never returned for applying");
      }
    }
    // The mutations must actually exercise error paths, not only trivial edits.
    assertTrue(withErrors > 1000, "only " + withErrors + " mutations produced errors");
  }

  private static final String[] METADATA_TOKENS = {
    "'",
    "\"",
    "\\",
    "'\\''",
    "=",
    "-",
    "-F/etc/shadow",
    "\n",
    "\r",
    "\t",
    " ",
    ";",
    "#",
    ",",
    ":",
    "::",
    ".",
    "0",
    "9",
    "255.",
    "256",
    "ff",
    "ETH0_",
    "ETH1_",
    "ETH99999999999_",
    "_IP=",
    "_MASK=",
    "_IP6=",
    "_DNS=",
    "_MAC=",
    "SET_HOSTNAME=",
    "export ",
    "$private_ipv4",
    "\nDNS=1.1.1.1\n",
    "[Service]",
    "{",
    "}",
    "[",
    "]",
    "\"hostname\": ",
    "\"public_keys\": ",
    "null",
    "true",
    "1e400",
    "\\u0000",
    "\\n",
    "\u0000",
    "\u2028",
    "\u00e9",
    "ssh-rsa ",
    "AAAA"
  };

  static final String CONTEXT =
      "# Context variables generated by OpenNebula\n"
          + "ETH0_DNS='10.0.0.1 10.0.0.2'\nETH0_GATEWAY='10.0.0.1'\nETH0_IP='10.0.0.15'\n"
          + "ETH0_MAC='02:00:0A:00:00:0F'\nETH0_MASK='255.255.255.0'\n"
          + "ETH0_SEARCH_DOMAIN='example.org'\nETH0_IP6='2001:db8::f'\n"
          + "ETH0_IP6_PREFIX_LENGTH='64'\nETH0_GATEWAY6='fe80::1'\n"
          + "ETH1_IP='192.168.7.3'\nETH1_MASK='16'\nSET_HOSTNAME='one-vm-42'\n"
          + "SSH_PUBLIC_KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHXvvK5nXfKlJ/1h9JHq6yoOoGhY8LdR6E4vQdz2k0xK a@b\n"
          + "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0g+ZTxC7weoIJLUafOgrm+h it'\\''s me'\n"
          + "USER_DATA='#cloud-config\nhostname: x\nwrite_files:\n  - path: /etc/$private_ipv4\n'\n";

  static final String META_DATA =
      "{\"hostname\": \"cd-host.novalocal\", \"uuid\": \"83679162-1378-4288-a2d4-70e13ec132aa\","
          + " \"public_keys\": {\"mykey\": \"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0g+ZTxC7weoIJLUafOgrm+h k\\n\"}}";

  static final String EC2 = "{\"public-ipv4\": \"203.0.113.5\", \"local-ipv4\": \"10.1.2.3\"}";

  static final String USER_DATA =
      "#cloud-config\ncoreos:\n  etcd2:\n    advertise-client-urls: http://$private_ipv4:2379\n"
          + "    listen-peer-urls: http://[$public_ipv6]:2380\n";

  /** What a successful fetch returns must be clean: it goes into commands and unit files. */
  static void assertCleanMetadata(Metadata m, String input) {
    assertTrue(m.hostname() == null || Metadata.isHostname(m.hostname()), input);
    for (String k : m.sshPublicKeys()) {
      assertTrue(Metadata.isSshPublicKey(k), input);
    }
    for (String ip :
        Arrays.asList(m.publicIpv4(), m.privateIpv4(), m.publicIpv6(), m.privateIpv6())) {
      assertTrue(ip == null || ip.matches("[0-9A-Fa-f:.]+"), ip + " from\n" + input);
    }
    m.networkUnits()
        .forEach(
            (name, content) -> {
              assertTrue(name.matches("10-basalt-context-eth\\d{1,4}\\.network"), name);
              for (String line : content.split("\n", -1)) {
                assertTrue(
                    line.isEmpty()
                        || line.matches("\\[(Match|Network)\\]")
                        || line.matches("[A-Za-z]+=[^\\x00-\\x1f\\x7f]+"),
                    "line " + DocumentChecker.quote(line) + " of " + name + " from\n" + input);
              }
            });
  }

  /** A fetched datasource, as apply uses it: substituted into user-data, parsed, merged. */
  static void useAsApplyDoes(Datasource.Found f) {
    Metadata md = f.metadata();
    String text;
    try {
      text = f.userData() == null ? USER_DATA : Datasources.text(f.userData());
    } catch (IOException e) {
      text = USER_DATA; // not UTF-8: apply stops there with exit 2
    }
    UserData ud = UserDataParser.parse(md.substitute(text), ValidationOptions.defaultImage());
    if (!ud.hasErrors()) {
      ud.config().withMetadata(md);
    }
  }

  @Test
  void openNebulaContextMutationsGiveCleanMetadataOrAnIoException() throws Exception {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path dir = fs.getPath("/run/basalt/context");
      Files.createDirectories(dir);
      Random r = new Random(0x0CE1L);
      int[] outcome = new int[2];
      assertTimeoutPreemptively(
          Duration.ofSeconds(120),
          () -> {
            for (int i = 0; i < 3000; i++) {
              String input = mutate(CONTEXT, r, METADATA_TOKENS);
              Files.writeString(dir.resolve("context.sh"), input);
              Optional<Datasource.Found> f;
              try {
                f = new OpenNebulaDatasource(dir).fetch();
              } catch (IOException e) {
                assertTrue(e.getMessage().indexOf('\n') < 0, e.getMessage());
                outcome[1]++;
                continue;
              } catch (RuntimeException | StackOverflowError e) {
                fail("context.sh mutation " + i + " crashed the datasource on:\n" + input, e);
                return;
              }
              outcome[0]++;
              if (f.isPresent()) {
                assertCleanMetadata(f.get().metadata(), input);
                useAsApplyDoes(f.get());
              }
            }
          });
      assertTrue(outcome[0] > 300 && outcome[1] > 300, Arrays.toString(outcome));
    }
  }

  @Test
  void configDriveMetadataMutationsGiveCleanMetadataOrAnIoException() throws Exception {
    try (FileSystem fs = Jimfs.newFileSystem(Configuration.unix())) {
      Path dir = fs.getPath("/run/basalt/config-2");
      Files.createDirectories(dir.resolve("openstack/latest"));
      Files.createDirectories(dir.resolve("ec2/latest"));
      Files.writeString(dir.resolve("openstack/latest/user_data"), USER_DATA);
      Random r = new Random(0xC0F2L);
      int[] outcome = new int[2];
      assertTimeoutPreemptively(
          Duration.ofSeconds(120),
          () -> {
            for (int i = 0; i < 3000; i++) {
              boolean ec2 = r.nextBoolean();
              String meta = ec2 ? META_DATA : mutate(META_DATA, r, METADATA_TOKENS);
              String addresses = ec2 ? mutate(EC2, r, METADATA_TOKENS) : EC2;
              Files.writeString(dir.resolve("openstack/latest/meta_data.json"), meta);
              Files.writeString(dir.resolve("ec2/latest/meta-data.json"), addresses);
              String input = meta + "\n" + addresses;
              Optional<Datasource.Found> f;
              try {
                f = new ConfigDriveDatasource(dir).fetch();
              } catch (IOException e) {
                outcome[1]++;
                continue;
              } catch (RuntimeException | StackOverflowError e) {
                fail("config-2 mutation " + i + " crashed the datasource on:\n" + input, e);
                return;
              }
              outcome[0]++;
              if (f.isPresent()) {
                assertCleanMetadata(f.get().metadata(), input);
                useAsApplyDoes(f.get());
              }
            }
          });
      assertTrue(outcome[0] > 300 && outcome[1] > 300, Arrays.toString(outcome));
    }
  }
}
