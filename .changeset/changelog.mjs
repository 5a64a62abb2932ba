// How `pnpm version-packages` writes a changeset into a package's CHANGELOG.md. A one-line
// changeset becomes a bullet; a longer one is a release note written as Markdown (a paragraph,
// then `#### Security` / `#### Changed` / `#### Added` lists, as the changelogs already read) and
// is copied as it is. Only @spiffe-node/spiffe is published and it depends on no workspace
// package, so there are no "updated dependencies" lines.

/** @type {import('@changesets/types').ChangelogFunctions} */
const changelog = {
  async getReleaseLine(changeset) {
    const summary = changeset.summary.trim();
    return summary.includes('\n') ? `${summary}\n` : `- ${summary}`;
  },
  async getDependencyReleaseLine() {
    return '';
  },
};

export default changelog;
