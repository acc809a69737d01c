package io.hashkernel.kernel;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

/** The kernel keeps its maps in HashKernel tables: no kernel class touches a java.util map. */
@AnalyzeClasses(packages = "io.hashkernel.kernel", importOptions = ImportOption.DoNotIncludeTests.class)
class KernelArchitectureTest {

    @ArchTest
    static final ArchRule noJavaUtilMaps = noClasses().that().resideInAPackage("io.hashkernel.kernel..")
            .should().dependOnClassesThat().areAssignableTo(Map.class)
            .orShould().dependOnClassesThat().areAssignableTo(ConcurrentHashMap.class)
            .because("every kernel map is a HashKernel table (frame -> owner, object -> container, ...)");
}
