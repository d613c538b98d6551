package io.basalt.cloudconfig.datasource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Datasource metadata is validated like user-data: values that would inject options into commands
 * or lines into unit files, bad host names and bad addresses are refused with an error naming the
 * datasource, the variable and the value.
 */
class DatasourceMetadataTest {

  private FileSystem fs;

  @BeforeEach
  void setUp() {
    fs = Jimfs.newFileSystem(Configuration.unix());
  }

  @AfterEach
  void tearDown() throws IOException {
    fs.close();
  }

  private static final String GOOD_CONTEXT =
      "ETH0_IP='10.0.0.15'\nETH0_MAC='02:00:0a:00:00:0f'\nSET_HOSTNAME='vm-1'\n";

  /** context.sh line, the variable the error must name, the value it must show. */
  static Stream<Arguments> badContext() {
    return Stream.of(
        Arguments.of("SET_HOSTNAME='-F/etc/shadow'", "SET_HOSTNAME", "'-F/etc/shadow'"),
        Arguments.of("SET_HOSTNAME='a\nb'", "SET_HOSTNAME", "'a\\nb'"),
        Arguments.of("SET_HOSTNAME='bad_host!'", "SET_HOSTNAME", "'bad_host!'"),
        Arguments.of(
            "SET_HOSTNAME='' HOSTNAME='" + "a".repeat(64) + "'", "HOSTNAME", "'aaaaaaaaaa"),
        Arguments.of(
            "ETH0_IP='10.0.0.1\n[Service]\nExecStart=/bin/sh'", "ETH0_IP", "'10.0.0.1\\n[Service]"),
        Arguments.of("ETH0_IP='10.0.0.256'", "ETH0_IP", "'10.0.0.256'"),
        Arguments.of("ETH0_MASK='255.0.255.0'", "ETH0_MASK", "'255.0.255.0'"),
        Arguments.of("ETH0_MASK='abc'", "ETH0_MASK", "'abc'"),
        Arguments.of("ETH0_MASK='33'", "ETH0_MASK", "'33'"),
        Arguments.of("ETH0_GATEWAY='gw.example'", "ETH0_GATEWAY", "'gw.example'"),
        Arguments.of("ETH0_GATEWAY6='10.0.0.1'", "ETH0_GATEWAY6", "'10.0.0.1'"),
        Arguments.of("ETH0_IP6='2001:db8::1::2'", "ETH0_IP6", "'2001:db8::1::2'"),
        Arguments.of(
            "ETH0_IP6='2001:db8::5' ETH0_IP6_PREFIX_LENGTH='64\nDNS=1.1.1.1'",
            "ETH0_IP6_PREFIX_LENGTH",
            "'64\\n"),
        Arguments.of(
            "ETH0_IP6='2001:db8::5' ETH0_IP6_PREFIX_LENGTH='129'",
            "ETH0_IP6_PREFIX_LENGTH",
            "'129'"),
        Arguments.of("ETH0_DNS='10.0.0.1 -x'", "ETH0_DNS", "'-x'"),
        Arguments.of(
            "ETH0_SEARCH_DOMAIN='example.org\nDNS=6.6.6.6'",
            "ETH0_SEARCH_DOMAIN",
            "'example.org\\n"),
        Arguments.of("ETH0_MAC='02:00:0a:00:00'", "ETH0_MAC", "'02:00:0a:00:00'"),
        Arguments.of("ETH99999999999_IP='10.0.0.2'", "ETH99999999999_IP", "'10.0.0.2'"),
        Arguments.of("SSH_PUBLIC_KEY='not a key'", "SSH_PUBLIC_KEY", null));
  }

  @ParameterizedTest
  @MethodSource("badContext")
  void openNebulaContextValueIsRefusedNamingTheVariable(String line, String variable, String shown)
      throws Exception {
    Path dir = fs.getPath("/run/basalt/context");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("context.sh"), GOOD_CONTEXT + line + "\n");
    IOException e = assertThrows(IOException.class, () -> new OpenNebulaDatasource(dir).fetch());
    InvalidMetadataException m = assertInstanceOf(InvalidMetadataException.class, e);
    assertEquals("opennebula", m.datasource());
    assertEquals(variable, m.variable());
    assertTrue(
        e.getMessage().startsWith("opennebula /run/basalt/context/context.sh: " + variable),
        e.getMessage());
    assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    if (shown != null) {
      assertTrue(e.getMessage().contains(shown), e.getMessage());
    }
  }

  @Test
  void openNebulaGoodContextStillWorks() throws Exception {
    Path dir = fs.getPath("/run/basalt/context");
    Files.createDirectories(dir);
    Files.writeString(
        dir.resolve("context.sh"),
        GOOD_CONTEXT
            + "ETH0_MASK='24'\nETH0_GATEWAY='10.0.0.1'\nETH0_DNS='10.0.0.1, 2001:db8::53'\n"
            + "ETH0_IP6='2001:db8::f'\nETH0_IP6_PREFIX_LENGTH='48'\nETH0_GATEWAY6='fe80::1'\n"
            + "ETH0_SEARCH_DOMAIN='example.org lab.example.org'\n");
    Datasource.Found f = new OpenNebulaDatasource(dir).fetch().orElseThrow();
    assertEquals("vm-1", f.metadata().hostname());
    assertEquals(
        "[Match]\nMACAddress=02:00:0a:00:00:0f\n\n[Network]\nAddress=10.0.0.15/24\n"
            + "Address=2001:db8::f/48\nGateway=10.0.0.1\nGateway=fe80::1\nDNS=10.0.0.1\n"
            + "DNS=2001:db8::53\nDomains=example.org lab.example.org\n",
        f.metadata().networkUnits().get("10-basalt-context-eth0.network"));
  }

  /** meta_data.json / ec2 meta-data.json text, the variable the error must name. */
  static Stream<Arguments> badConfigDrive() {
    return Stream.of(
        Arguments.of("{\"hostname\": \"-rf\"}", null, "hostname"),
        Arguments.of("{\"hostname\": \"a\\nb\"}", null, "hostname"),
        Arguments.of("{\"hostname\": [\"a\"]}", null, "hostname"),
        Arguments.of("[1, 2]", null, "meta_data.json"),
        Arguments.of(
            "{\"public_keys\": {\"k\": \"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0g k\\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0g evil\"}}",
            null,
            "public_keys.k"),
        Arguments.of("{\"public_keys\": {\"k\": \"hello\"}}", null, "public_keys.k"),
        Arguments.of("{\"public_keys\": [\"x\"]}", null, "public_keys"),
        Arguments.of(
            "{\"hostname\": \"h\"}", "{\"public-ipv4\": \"1.2.3.4\\nusers: []\"}", "public-ipv4"),
        Arguments.of("{\"hostname\": \"h\"}", "{\"local-ipv4\": \"-1\"}", "local-ipv4"));
  }

  @ParameterizedTest
  @MethodSource("badConfigDrive")
  void configDriveValueIsRefusedNamingTheField(String metaData, String ec2, String variable)
      throws Exception {
    Path dir = fs.getPath("/run/basalt/config-2");
    Files.createDirectories(dir.resolve("openstack/latest"));
    Files.writeString(dir.resolve("openstack/latest/meta_data.json"), metaData);
    if (ec2 != null) {
      Files.createDirectories(dir.resolve("ec2/latest"));
      Files.writeString(dir.resolve("ec2/latest/meta-data.json"), ec2);
    }
    IOException e = assertThrows(IOException.class, () -> new ConfigDriveDatasource(dir).fetch());
    InvalidMetadataException m = assertInstanceOf(InvalidMetadataException.class, e);
    assertEquals("config-2", m.datasource());
    assertEquals(variable, m.variable());
    assertTrue(e.getMessage().startsWith("config-2 /run/basalt/config-2/"), e.getMessage());
    assertTrue(e.getMessage().contains(": " + variable + " "), e.getMessage());
    assertTrue(!e.getMessage().contains("\n"), e.getMessage());
  }
}
