package io.basalt.cloudconfig;

import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Fails the build when two packages of this module's main code depend on each other. */
class PackageCyclesTest {
  @Test
  void packagesAreFreeOfCycles() {
    JavaClasses main = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.basalt.cloudconfig");
    // One slice per package (io.basalt.cloudconfig itself included), so any cycle between packages
    // of the module fails, whatever its length.
    slices().matching("io.basalt.(**)").should().beFreeOfCycles().check(main);
  }
}
