package io.hashkernel.kernel.processor;

import com.palantir.javapoet.ClassName;
import com.palantir.javapoet.CodeBlock;
import com.palantir.javapoet.JavaFile;
import com.palantir.javapoet.MethodSpec;
import com.palantir.javapoet.ParameterSpec;
import com.palantir.javapoet.ParameterizedTypeName;
import com.palantir.javapoet.TypeName;
import com.palantir.javapoet.TypeSpec;

import javax.annotation.processing.AbstractProcessor;
import javax.annotation.processing.RoundEnvironment;
import javax.annotation.processing.SupportedAnnotationTypes;
import javax.lang.model.SourceVersion;
import javax.lang.model.element.AnnotationMirror;
import javax.lang.model.element.AnnotationValue;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.NestingKind;
import javax.lang.model.element.Modifier;
import javax.lang.model.element.PackageElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.element.VariableElement;
import javax.lang.model.type.DeclaredType;
import javax.lang.model.type.ExecutableType;
import javax.lang.model.type.TypeKind;
import javax.lang.model.type.TypeMirror;
import javax.lang.model.util.ElementFilter;
import javax.tools.Diagnostic;
import java.io.IOException;
import java.lang.reflect.UndeclaredThrowableException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Generates, for each interface annotated {@code io.hashkernel.kernel.DomainService}, a
 * cross-domain proxy {@code <Interface>Proxy} (beside it; a nested interface's enclosing names
 * joined by {@code _}) extending {@code DomainProxy}. Each abstract method becomes a method of the
 * same name and parameters returning {@code Result} of its boxed return type ({@code Void} for
 * {@code void}) that:
 * <ol>
 *   <li>borrows each {@code @Borrowed} {@code XRef} argument for the call, then moves each other
 *       {@code XRef} argument into the callee domain, returning the failure if it cannot (a
 *       failed borrow has moved nothing; arguments moved before a failed move stay moved);</li>
 *   <li>copies each {@code @Projected} argument's read fields into a fresh object;</li>
 *   <li>calls the domain through {@code Domain.call}, which checks it is alive, counts the call,
 *       and turns any {@code Throwable} of the callee into an error result (revoking and
 *       restarting the domain);</li>
 *   <li>after a successful call copies the projected written fields back, and ends the borrows.</li>
 * </ol>
 * Misuse is a compile error on the element at fault: the annotation on a class, a generic
 * interface or method, a projection of a type without an accessible no-argument constructor, or
 * of a field it does not have (or that is final, static or out of reach: private, or
 * package-private in another package), {@code @Borrowed} on anything but an {@code XRef}, or a
 * projection of an {@code XRef}.
 */
@SupportedAnnotationTypes(DomainServiceProcessor.DOMAIN_SERVICE)
public final class DomainServiceProcessor extends AbstractProcessor {
    static final String KERNEL = "io.hashkernel.kernel";
    static final String DOMAIN_SERVICE = KERNEL + ".DomainService";
    private static final String BORROWED = KERNEL + ".Borrowed";
    private static final String PROJECTED = KERNEL + ".Projected";
    private static final ClassName X_REF = ClassName.get(KERNEL, "XRef");
    private static final ClassName BORROW = ClassName.get(KERNEL, "XRef", "Borrow");
    private static final ClassName RESULT = ClassName.get(KERNEL, "Result");
    private static final ClassName DOMAIN = ClassName.get(KERNEL, "Domain");
    private static final ClassName DOMAIN_PROXY = ClassName.get(KERNEL, "DomainProxy");
    /** DomainProxy's members: a service method of one of these names would clash with them. */
    private static final Set<String> PROXY_MEMBERS = Set.of("domain", "of", "proxyName", "refused", "notBorrowed");

    @Override
    public SourceVersion getSupportedSourceVersion() {
        return SourceVersion.latestSupported();
    }

    @Override
    public boolean process(Set<? extends TypeElement> annotations, RoundEnvironment round) {
        TypeElement annotation = processingEnv.getElementUtils().getTypeElement(DOMAIN_SERVICE);
        if (annotation == null) {
            return false;
        }
        for (Element e : round.getElementsAnnotatedWith(annotation)) {
            if (e.getKind() != ElementKind.INTERFACE) {
                error(e, "@DomainService goes on an interface (a domain is called through one); "
                        + e.getSimpleName() + " is a " + e.getKind().toString().toLowerCase());
                continue;
            }
            TypeElement service = (TypeElement) e;
            if (!service.getTypeParameters().isEmpty()) {
                error(e, "@DomainService interfaces cannot be generic; " + service.getSimpleName()
                        + " has type parameters " + service.getTypeParameters());
                continue;
            }
            for (Element outer = service; !(outer instanceof PackageElement); outer = outer.getEnclosingElement()) {
                if (outer.getModifiers().contains(Modifier.PRIVATE)) {
                    error(e, "a @DomainService interface must be reachable from its package's generated proxy; "
                            + outer.getSimpleName() + " is private");
                    service = null;
                    break;
                }
            }
            if (service == null) {
                continue;
            }
            TypeSpec proxy = proxy(service);
            if (proxy == null) {
                continue;
            }
            String pkg = processingEnv.getElementUtils().getPackageOf(service).getQualifiedName().toString();
            try {
                JavaFile.builder(pkg, proxy).skipJavaLangImports(true).build().writeTo(processingEnv.getFiler());
            } catch (IOException ex) {
                error(e, "cannot write the proxy of " + service.getQualifiedName() + ": " + ex.getMessage());
            }
        }
        return true;
    }

    /** The proxy class, or null after reporting an error. */
    private TypeSpec proxy(TypeElement service) {
        ClassName serviceName = ClassName.get(service);
        TypeSpec.Builder type = TypeSpec.classBuilder(proxySimpleName(service))
                .addModifiers(Modifier.PUBLIC, Modifier.FINAL)
                .superclass(ParameterizedTypeName.get(DOMAIN_PROXY, serviceName))
                .addOriginatingElement(service)
                .addJavadoc("Cross-domain proxy of {@link $T}, generated by $L: every call returns a result, never the\n"
                        + "callee's exception.\n", serviceName, DomainServiceProcessor.class.getSimpleName())
                .addMethod(MethodSpec.constructorBuilder()
                        .addModifiers(Modifier.PUBLIC)
                        .addJavadoc("A proxy calling {@code domain}.\n")
                        .addParameter(ParameterizedTypeName.get(DOMAIN, serviceName), "domain")
                        .addStatement("super(domain)")
                        .build());
        boolean ok = true;
        Set<String> signatures = new HashSet<>();
        for (ExecutableElement m : ElementFilter.methodsIn(processingEnv.getElementUtils().getAllMembers(service))) {
            if (!m.getModifiers().contains(Modifier.ABSTRACT) || m.getEnclosingElement().getKind() != ElementKind.INTERFACE
                    || isObjectMethod(m)) {
                continue;                                   // default, static and Object's methods
            }
            ExecutableType member = (ExecutableType) processingEnv.getTypeUtils().asMemberOf((DeclaredType) service.asType(), m);
            StringBuilder signature = new StringBuilder(m.getSimpleName()).append('(');
            for (TypeMirror p : member.getParameterTypes()) {
                signature.append(processingEnv.getTypeUtils().erasure(p)).append(',');
            }
            if (!signatures.add(signature.toString())) {
                continue;                                   // the same method from two superinterfaces
            }
            if (PROXY_MEMBERS.contains(m.getSimpleName().toString())) {
                error(m, "a @DomainService method cannot be named " + m.getSimpleName() + ": the proxy's base class "
                        + "DomainProxy has a member of that name");
                ok = false;
                continue;
            }
            MethodSpec method = method(service, m, member);
            if (method == null) {
                ok = false;
            } else {
                type.addMethod(method);
            }
        }
        return ok ? type.build() : null;
    }

    /** toString(), hashCode() or equals(Object) redeclared: Object implements them, the proxy keeps Object's. */
    private static boolean isObjectMethod(ExecutableElement m) {
        String name = m.getSimpleName().toString();
        List<? extends VariableElement> ps = m.getParameters();
        return (ps.isEmpty() && (name.equals("toString") || name.equals("hashCode")))
                || (ps.size() == 1 && name.equals("equals") && ps.get(0).asType().toString().equals("java.lang.Object"));
    }

    private static String proxySimpleName(TypeElement service) {
        StringBuilder name = new StringBuilder(service.getSimpleName());
        for (Element outer = service.getEnclosingElement(); !(outer instanceof PackageElement); outer = outer.getEnclosingElement()) {
            name.insert(0, outer.getSimpleName() + "_");
        }
        return name.append("Proxy").toString();
    }

    /** One proxy method, or null after reporting an error. */
    private MethodSpec method(TypeElement service, ExecutableElement m, ExecutableType member) {
        if (!m.getTypeParameters().isEmpty()) {
            error(m, "@DomainService methods cannot be generic; " + m.getSimpleName() + " has type parameters "
                    + m.getTypeParameters());
            return null;
        }
        TypeMirror returns = member.getReturnType();
        TypeName value = returns.getKind() == TypeKind.VOID ? ClassName.get(Void.class) : TypeName.get(returns).box();
        TypeName result = ParameterizedTypeName.get(RESULT, value);
        MethodSpec.Builder b = MethodSpec.methodBuilder(m.getSimpleName().toString())
                .addModifiers(Modifier.PUBLIC)
                .varargs(m.isVarArgs())
                .returns(result)
                .addJavadoc("Calls {@link $T#$L} in the domain.\n", ClassName.get(service), m.getSimpleName());
        CodeBlock.Builder lend = CodeBlock.builder();
        CodeBlock.Builder before = CodeBlock.builder();
        CodeBlock.Builder after = CodeBlock.builder();
        List<String> borrows = new ArrayList<>();
        List<String> moves = new ArrayList<>();
        List<String> args = new ArrayList<>();
        Set<String> taken = new HashSet<>();
        for (VariableElement p : m.getParameters()) {
            taken.add(p.getSimpleName().toString());
        }
        String resultVar = fresh("result", taken);
        String serviceVar = fresh("service", taken);
        String errorVar = fresh("e", taken);
        List<? extends TypeMirror> types = member.getParameterTypes();
        for (int i = 0; i < types.size(); i++) {
            VariableElement p = m.getParameters().get(i);
            TypeMirror type = types.get(i);
            String name = p.getSimpleName().toString();
            b.addParameter(ParameterSpec.builder(TypeName.get(type), name).build());
            boolean isRef = isXRef(type);
            AnnotationMirror projected = annotation(p, PROJECTED);
            boolean borrowed = annotation(p, BORROWED) != null;
            if (borrowed && !isRef) {
                error(p, "@Borrowed goes on an XRef parameter; " + name + " is a " + p.asType());
                return null;
            }
            if (projected != null) {
                if (isRef) {
                    error(p, "an XRef is moved or @Borrowed, not @Projected");
                    return null;
                }
                String copy = fresh(name + "In", taken);
                if (!projection(p, type, projected, name, copy, before, after)) {
                    return null;
                }
                args.add(copy);
            } else if (borrowed) {
                String loan = fresh(name + "Loan", taken);
                lend.addStatement("final $T $L", BORROW, loan)
                        .beginControlFlow("try")
                        .addStatement("$L = $L.borrow()", loan, name)
                        .nextControlFlow("catch ($T $L)", IllegalStateException.class, errorVar);
                for (String earlier : borrows) {
                    lend.addStatement("$L.close()", earlier);
                }
                lend.addStatement("return notBorrowed($S, $L)", name, errorVar).endControlFlow();
                borrows.add(loan);
                args.add(loan + ".handle()");
            } else if (isRef) {
                String moved = fresh(name + "Moved", taken);
                moves.add(name);
                moves.add(moved);
                args.add(moved + ".orElseThrow()");
            } else {
                args.add(name);
            }
        }
        // Borrows first, then moves: a borrow that fails has moved nothing. A move that fails ends
        // the borrows; arguments moved before it stay with the callee (a move is not undone).
        for (int i = 0; i < moves.size(); i += 2) {
            String name = moves.get(i);
            String moved = moves.get(i + 1);
            lend.addStatement("$T<$T> $L = $L.moveTo(this.domain)", RESULT, X_REF, moved, name)
                    .beginControlFlow("if (!$L.isOk())", moved);
            for (String loan : borrows) {
                lend.addStatement("$L.close()", loan);
            }
            lend.addStatement("return refused($L)", moved).endControlFlow();
        }
        b.addCode(lend.build());
        b.addCode(before.build());
        String call = serviceVar + "." + m.getSimpleName() + "(" + String.join(", ", args) + ")";
        CodeBlock invoke = returns.getKind() == TypeKind.VOID
                ? CodeBlock.of("{ $L; return null; }", call) : CodeBlock.of("$L", call);
        if (!member.getThrownTypes().isEmpty()) {
            // A checked exception of the callee is a failure like any other: carried as the cause.
            invoke = CodeBlock.of("{ try { $L } catch ($T | $T $L) { throw $L; } catch ($T $L) { throw new $T($L); } }",
                    returns.getKind() == TypeKind.VOID ? CodeBlock.of("$L; return null;", call) : CodeBlock.of("return $L;", call),
                    RuntimeException.class, Error.class, errorVar, errorVar, Throwable.class, errorVar,
                    UndeclaredThrowableException.class, errorVar);
        }
        if (borrows.isEmpty()) {
            b.addStatement("$T $L = this.domain.call($L -> $L)", result, resultVar, serviceVar, invoke);
        } else {
            b.addStatement("$T $L", result, resultVar).beginControlFlow("try")
                    .addStatement("$L = this.domain.call($L -> $L)", resultVar, serviceVar, invoke)
                    .nextControlFlow("finally");
            for (String loan : borrows) {
                b.addStatement("$L.close()", loan);
            }
            b.endControlFlow();
        }
        CodeBlock back = after.build();
        if (!back.isEmpty()) {
            b.beginControlFlow("if ($L.isOk())", resultVar).addCode(back).endControlFlow();
        }
        return b.addStatement("return $L", resultVar).build();
    }

    /** The copy-in and copy-back code of a projected parameter; false after reporting an error. */
    private boolean projection(VariableElement p, TypeMirror t, AnnotationMirror projected, String name, String copy,
                               CodeBlock.Builder before, CodeBlock.Builder after) {
        if (t.getKind() != TypeKind.DECLARED || ((DeclaredType) t).asElement().getKind() != ElementKind.CLASS) {
            error(p, "a @Projected parameter must be of a class with public fields; " + name + " is a " + t);
            return false;
        }
        TypeElement type = (TypeElement) ((DeclaredType) t).asElement();
        if (type.getNestingKind() != NestingKind.TOP_LEVEL && !type.getModifiers().contains(Modifier.STATIC)) {
            error(p, "a @Projected parameter's class must be top-level or a static nested class; "
                    + type.getSimpleName() + " is an inner (or local) class");
            return false;
        }
        boolean constructor = ElementFilter.constructorsIn(type.getEnclosedElements()).stream()
                .anyMatch(c -> c.getParameters().isEmpty() && accessible(c, p));
        if (!constructor || type.getModifiers().contains(Modifier.ABSTRACT)) {
            error(p, "a @Projected parameter's class needs a public no-argument constructor (or, in the service's "
                    + "package, a non-private one); " + type.getSimpleName() + " has none");
            return false;
        }
        before.addStatement("$T $L = new $T()", TypeName.get(t), copy, TypeName.get(t));
        for (String field : names(projected, "reads")) {
            if (!checkField(p, type, field, "reads")) {
                return false;
            }
            before.addStatement("$L.$L = $L.$L", copy, field, name, field);
        }
        for (String field : names(projected, "writes")) {
            if (!checkField(p, type, field, "writes")) {
                return false;
            }
            after.addStatement("$L.$L = $L.$L", name, field, copy, field);
        }
        return true;
    }

    private boolean checkField(VariableElement p, TypeElement type, String field, String role) {
        for (VariableElement f : ElementFilter.fieldsIn(processingEnv.getElementUtils().getAllMembers(type))) {
            if (f.getSimpleName().contentEquals(field)) {
                Set<Modifier> mods = f.getModifiers();
                if (!accessible(f, p) || mods.contains(Modifier.FINAL) || mods.contains(Modifier.STATIC)) {
                    error(p, "@Projected " + role + " field " + field + " of " + type.getSimpleName()
                            + " must be public (or, in the service's package, not private), not final and not static; it is "
                            + (mods.isEmpty() ? "package-private" : mods));
                    return false;
                }
                return true;
            }
        }
        error(p, "@Projected " + role + " names field " + field + ", which " + type.getSimpleName() + " does not have");
        return false;
    }

    /** Whether the generated proxy, in the package of {@code use}, can reach {@code e}. */
    private boolean accessible(Element e, Element use) {
        Set<Modifier> mods = e.getModifiers();
        if (mods.contains(Modifier.PUBLIC)) {
            return true;
        }
        return !mods.contains(Modifier.PRIVATE) && processingEnv.getElementUtils().getPackageOf(e)
                .equals(processingEnv.getElementUtils().getPackageOf(use));
    }

    /** {@code base}, or {@code base} with {@code $} appended until no parameter or earlier local has the name. */
    private static String fresh(String base, Set<String> taken) {
        String name = base + "$";
        while (!taken.add(name)) {
            name += "$";
        }
        return name;
    }

    private static List<String> names(AnnotationMirror a, String member) {
        List<String> names = new ArrayList<>();
        a.getElementValues().forEach((k, v) -> {
            if (k.getSimpleName().contentEquals(member)) {
                for (Object item : (List<?>) v.getValue()) {
                    names.add((String) ((AnnotationValue) item).getValue());
                }
            }
        });
        return names;
    }

    private static AnnotationMirror annotation(Element e, String type) {
        for (AnnotationMirror a : e.getAnnotationMirrors()) {
            if (((TypeElement) a.getAnnotationType().asElement()).getQualifiedName().contentEquals(type)) {
                return a;
            }
        }
        return null;
    }

    private static boolean isXRef(TypeMirror t) {
        return t.getKind() == TypeKind.DECLARED
                && ((TypeElement) ((DeclaredType) t).asElement()).getQualifiedName().contentEquals(X_REF.canonicalName());
    }

    private void error(Element e, String message) {
        processingEnv.getMessager().printMessage(Diagnostic.Kind.ERROR, message, e);
    }
}
