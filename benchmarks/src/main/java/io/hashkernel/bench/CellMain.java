package io.hashkernel.bench;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The child JVM's entry point: runs the cell given as JSON in {@code args[0]} and prints each
 * workload's result on a line of its own on stdout, after {@link #RESULT_PREFIX}.
 */
public final class CellMain {
    /** Marks the result line on the child's stdout. */
    static final String RESULT_PREFIX = "HTBENCH-RESULT ";

    private CellMain() {
    }

    /**
     * Runs one cell.
     *
     * @param args one argument: the {@code CellSpec} as JSON
     */
    public static void main(String[] args) throws Exception {
        ObjectMapper json = new ObjectMapper();
        CellSpec spec = json.readValue(args[0], CellSpec.class);
        new CellRunner(spec).run(r -> {
            try {
                System.out.println(RESULT_PREFIX + json.writeValueAsString(r));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }
}
