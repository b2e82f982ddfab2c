"""For the dead-code check (vulture, in .ci/run): the names Qt itself calls or reads, which no
Python code of ours calls. Nothing else belongs here: a name our code never uses is removed."""

# ruff: noqa: B018, F821
_.clip  # QAbstractTextDocumentLayout.PaintContext, read by Qt when a document is drawn
_.columnCount  # QAbstractTableModel
_.contextMenuEvent  # QWidget
_.createEditor  # QStyledItemDelegate
_.eventFilter  # QObject (an event filter installed with installEventFilter)
_.headerData  # QAbstractTableModel
_.highlightBlock  # QSyntaxHighlighter
_.keyboardSearch  # QAbstractItemView
_.mousePressEvent  # QWidget
_.paint  # QStyledItemDelegate
_.paintEvent  # QWidget
_.setEditorData  # QStyledItemDelegate
_.setModelData  # QStyledItemDelegate
_.updateEditorGeometry  # QStyledItemDelegate
