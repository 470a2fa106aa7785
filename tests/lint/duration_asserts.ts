/**
 * A lint rule (loaded by deno.json's `lint.plugins`, so `deno task check`
 * runs it): no test asserts a duration. Timings are flaky on a loaded
 * machine; a test shows the event a timing stood for instead (the process
 * exits before stdin is closed, a chunk arrives before the writer stops, a
 * fake clock is advanced). Inside an assertion's arguments it reports:
 *
 * - a difference with a clock reading: `performance.now() - t`, `Date.now() - t`,
 *   or a name that holds a reading (`now - started`);
 * - a comparison (`<`, `>`, `<=`, `>=`) of a measured time: a name assigned
 *   such a difference in the same file (`const elapsed = performance.now() -
 *   started`, also through further assignments), or a name that says it is
 *   one (`elapsed`, `took`, `duration`, `waited`, with or without a unit).
 *
 * Assertions are calls of `assert`, `assert.*`, `assert*` and `expect`.
 * Only files under `tests/` (and files named `*_test.ts`) are looked at.
 *
 * @module
 */

type Node = Deno.lint.Node;

const MEASURED_NAME = /^\w*?(?:elapsed|took|duration|waited)\w*$/i;
const COMPARISONS = new Set(["<", ">", "<=", ">="]);

/**
 * The children of an AST node: every property holding nodes, `parent` aside.
 * Deno's nodes are facades whose properties live on a shared prototype, so
 * `for...in` (not `Object.entries`) lists them.
 */
function children(node: Node): Node[] {
  const found: Node[] = [];
  for (const key in node) {
    if (key === "parent" || key === "range") continue;
    let value: unknown;
    try {
      value = (node as unknown as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    if (!value || typeof value !== "object") continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item && typeof item === "object" && typeof (item as Node).type === "string") {
        found.push(item as Node);
      }
    }
  }
  return found;
}

/** Every node of the subtree at `node`, itself first. */
function* walk(node: Node): Generator<Node> {
  const stack = [node];
  while (stack.length) {
    const next = stack.pop()!;
    yield next;
    stack.push(...children(next).reverse());
  }
}

/** `performance.now()` or `Date.now()`. */
function isClockCall(node: Node): boolean {
  if (node.type !== "CallExpression" || node.callee.type !== "MemberExpression") return false;
  const { object, property } = node.callee;
  return object.type === "Identifier" &&
    (object.name === "performance" || object.name === "Date") &&
    property.type === "Identifier" && property.name === "now";
}

/** The name a declaration or assignment gives a value to, with the value. */
function binding(node: Node): { name: string; value: Node } | null {
  if (node.type === "VariableDeclarator" && node.id.type === "Identifier" && node.init) {
    return { name: node.id.name, value: node.init };
  }
  if (
    node.type === "AssignmentExpression" && node.left.type === "Identifier" && node.operator === "="
  ) {
    return { name: node.left.name, value: node.right };
  }
  return null;
}

/** What the file's names hold: clock readings, and times measured from them. */
function namesOf(program: Node): { readings: Set<string>; measured: Set<string> } {
  const bindings = [...walk(program)].map(binding).filter((b) => b !== null);
  const readings = new Set(bindings.filter((b) => isClockCall(b.value)).map((b) => b.name));
  const measured = new Set<string>();
  // Until nothing changes: a name assigned from a measured name is measured too.
  for (let changed = true, rounds = 0; changed && rounds < 10; rounds++) {
    changed = false;
    for (const { name, value } of bindings) {
      if (measured.has(name) || readings.has(name)) continue;
      const subtree = [...walk(value)];
      if (
        subtree.some((node) => isClockDifference(node, readings)) ||
        subtree.some((node) => node.type === "Identifier" && measured.has(node.name))
      ) {
        measured.add(name);
        changed = true;
      }
    }
  }
  return { readings, measured };
}

/** `a - b` where a side is a clock call or a name holding a reading. */
function isClockDifference(node: Node, readings: Set<string>): boolean {
  if (node.type !== "BinaryExpression" || node.operator !== "-") return false;
  const isReading = (side: Node) =>
    isClockCall(side) || (side.type === "Identifier" && readings.has(side.name));
  return isReading(node.left) || isReading(node.right);
}

/**
 * The variable names an expression reads: a property name (`index.duration`)
 * is data of an object, not a variable, so it is not one of them.
 */
function* namesRead(node: Node): Generator<string> {
  const stack = [node];
  while (stack.length) {
    const next = stack.pop()!;
    if (next.type === "Identifier") yield next.name;
    else if (next.type === "MemberExpression") {
      stack.push(next.object);
      if (next.computed) stack.push(next.property);
    } else stack.push(...children(next));
  }
}

/** True for `assert(...)`, `assert.x(...)`, `assertEquals(...)`, `expect(...)`. */
function isAssertion(node: Deno.lint.CallExpression): boolean {
  const callee = node.callee;
  if (callee.type === "Identifier") return /^(?:assert\w*|expect)$/.test(callee.name);
  return callee.type === "MemberExpression" && callee.object.type === "Identifier" &&
    callee.object.name === "assert";
}

/** Why the assertion at `call` measures time, or null. */
function durationIn(
  call: Deno.lint.CallExpression,
  names: { readings: Set<string>; measured: Set<string> },
): string | null {
  for (const argument of call.arguments) {
    for (const node of walk(argument)) {
      if (isClockDifference(node, names.readings)) return "a difference with a clock reading";
      if (node.type === "BinaryExpression" && COMPARISONS.has(node.operator)) {
        for (const side of [node.left, node.right]) {
          for (const name of namesRead(side)) {
            if (names.measured.has(name) || MEASURED_NAME.test(name)) {
              return `${name}, a measured time, compared`;
            }
          }
        }
      }
    }
  }
  return null;
}

/** True for the files the rule looks at. */
export function isTestFile(fileName: string): boolean {
  return /(^|[\\/])tests[\\/]/.test(fileName) || /_test\.ts$/.test(fileName);
}

const plugin: Deno.lint.Plugin = {
  name: "chunker",
  rules: {
    "no-duration-assert": {
      create(context) {
        if (!isTestFile(context.filename)) return {};
        let names: { readings: Set<string>; measured: Set<string> } | null = null;
        return {
          Program(node) {
            names = namesOf(node);
          },
          CallExpression(node) {
            if (!names || !isAssertion(node)) return;
            const why = durationIn(node, names);
            if (why) {
              context.report({
                node,
                message: `a test asserts a duration (${why})`,
                hint: "timings are flaky under load: show the event the time stood for (an exit " +
                  "before stdin closes, a chunk before the writer stops, a fake clock advanced)",
              });
            }
          },
        };
      },
    },
  },
};

export default plugin;
