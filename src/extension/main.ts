import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('l2softmax.startRun', () => {
      void vscode.window.showInformationMessage('L2-Softmax Lab: run manager not wired yet.');
    }),
  );
}

export function deactivate(): void {}
