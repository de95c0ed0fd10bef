import ts from 'typescript';

/** Text that reads as a SQL statement (not just a sentence starting with "update" or "select"). */
const STATEMENT =
  /^\s*(?:select\b[\s\S]*\bfrom\b|insert\s+into\b|update\s+\S+\s+set\b|delete\s+from\b|with\s+\w+\s+as\b|(?:create|drop|alter)\s+(?:unique\s+)?(?:table|index|database|schema|view|type|extension|role|sequence|function)\b|truncate\b|grant\b|revoke\b|copy\s+\S+[\s\S]*\b(?:from|to)\b|vacuum\b|analyze\b)/i;
/** A literal piece that continues SQL being glued together. */
const CLAUSE =
  /^\s*(?:where|and|or|order\s+by|group\s+by|having|limit|offset|values|set|from|join|returning|on\s+conflict)\b/i;

/** SQL keywords are written all lower or all upper case; "Delete from the list" is a sentence. */
const keywordCase = (text: string) => {
  const word = /[A-Za-z]+/.exec(text)?.[0] ?? '';
  return word === word.toLowerCase() || word === word.toUpperCase();
};
const isStatement = (text: string) => keywordCase(text) && STATEMENT.test(text);
const looksLikeSql = (text: string) => keywordCase(text) && (STATEMENT.test(text) || CLAUSE.test(text));

/** The operands of a chain of + (a + b + c), left to right. */
function plusOperands(node: ts.Expression): ts.Expression[] {
  return ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken
    ? [...plusOperands(node.left), ...plusOperands(node.right)]
    : [node];
}

/** The literal text of a template (its head and the text between substitutions). */
function templateText(node: ts.TemplateExpression): string {
  return [node.head.text, ...node.templateSpans.map((span) => span.literal.text)].join(' ');
}

/** A `sql` tag (sql`...`, sql<T>`...`) from kysely: values become parameters. */
function isSqlTag(node: ts.Node): boolean {
  return ts.isTaggedTemplateExpression(node) && ts.isIdentifier(node.tag) && node.tag.text === 'sql';
}

/** pg's escapeIdentifier(x) / escapeLiteral(x): quoted for the server, the one safe interpolation. */
function isEscaped(node: ts.Expression): boolean {
  if (!ts.isCallExpression(node)) return false;
  const callee = node.expression;
  const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
  return name === 'escapeIdentifier' || name === 'escapeLiteral';
}

const isStringLike = (node: ts.Node) => ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node);

/** What is wrong with one node, if it builds SQL from strings. */
function problemOf(node: ts.Node): string | undefined {
  if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
    const callee = node.expression;
    const [first] = node.arguments;
    const isRaw = ts.isIdentifier(callee.expression) && callee.expression.text === 'sql' && callee.name.text === 'raw';
    if (isRaw && first && !isStringLike(first)) return 'sql.raw() of a value that is not a constant';
    const interpolated =
      first &&
      (ts.isBinaryExpression(first) ||
        (ts.isTemplateExpression(first) && !first.templateSpans.every((span) => isEscaped(span.expression))));
    if (callee.name.text === 'query' && interpolated) {
      return '.query() of an interpolated or concatenated text';
    }
  }
  const escaped = ts.isTemplateExpression(node) && node.templateSpans.every((span) => isEscaped(span.expression));
  if (ts.isTemplateExpression(node) && !isSqlTag(node.parent) && !escaped && isStatement(templateText(node))) {
    return 'a SQL statement in an untagged template literal with substitutions';
  }
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const glued = plusOperands(node).some(
      (side) =>
        (isStringLike(side) && looksLikeSql((side as ts.StringLiteral).text)) ||
        (ts.isTemplateExpression(side) && looksLikeSql(templateText(side))),
    );
    if (glued) return 'SQL text glued together with +';
  }
  return undefined;
}

/**
 * Every place in one source file where SQL is built from strings: sql.raw() of anything but a
 * constant, .query() of an interpolated text (unless every value goes through pg's
 * escapeIdentifier/escapeLiteral) or a concatenated one, an untagged template literal that
 * is a SQL statement with substitutions, SQL text glued with +. As "path:line: what".
 */
export function stringBuiltSql(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const problems: string[] = [];
  const report = (node: ts.Node, what: string): void => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    problems.push(`${path}:${line + 1}: ${what}: ${node.getText(source).replace(/\s+/g, ' ').slice(0, 80)}`);
  };
  const visit = (node: ts.Node): void => {
    const what = problemOf(node);
    // A reported node's parts are not reported again.
    if (what) report(node, what);
    else ts.forEachChild(node, visit);
  };
  visit(source);
  return problems;
}
