package io.basalt.cloudconfig.datasource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class UrlDatasourceTest {

  @Test
  void plainHttpOptInIsTheInsecureKeyWithOneOrNoValue() {
    String url = "ro cloud-config-url=http://10.0.2.2/c.yml";
    assertFalse(UrlDatasource.insecureAllowed(url));
    assertTrue(UrlDatasource.insecureAllowed(url + " basalt.cloud-config-url.insecure=1"));
    assertTrue(UrlDatasource.insecureAllowed(url + " basalt.cloud-config-url.insecure"));
    assertFalse(UrlDatasource.insecureAllowed(url + " basalt.cloud-config-url.insecure=0"));
    assertFalse(UrlDatasource.insecureAllowed(url + " basalt.cloud-config-url.insecure=yes"));
    assertFalse(
        UrlDatasource.insecureAllowed(
            url + " basalt.cloud-config-url.insecure=1 basalt.cloud-config-url.insecure=0"),
        "the last occurrence wins");
  }
}
